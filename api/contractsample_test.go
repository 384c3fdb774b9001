package api_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Requests built from the 4.x contract's models (testdata, see
// contract4x_test.go), and a reply check that lets chosen fields be null.

// contractSample is a request body of the contract's model def with every
// property of the model, at every depth: strings "", numbers 0, booleans
// false, lists empty, objects filled the same way. set overrides values by
// path ("src_task.connection_config.host"; a value replaces the whole
// subtree); a path the model does not have fails the test, so a request
// never carries a field the contract lacks by mistake.
func contractSample(t *testing.T, def string, set map[string]any) map[string]any {
	t.Helper()
	d, err := contract4x()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	v := sampleOf(t, d, swaggerSchema{Ref: "#/definitions/" + def}, "", set, used)
	for _, p := range slices.Sorted(maps.Keys(set)) {
		if !used[p] {
			t.Fatalf("contractSample(%s): the model has no field %s", def, p)
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("contractSample(%s): not an object model", def)
	}
	return m
}

func sampleOf(t *testing.T, d *swaggerDoc, s swaggerSchema, at string, set map[string]any, used map[string]bool) any {
	if v, ok := set[at]; ok && at != "" {
		used[at] = true
		return v
	}
	for s.Ref != "" {
		def, ok := d.Definitions[strings.TrimPrefix(s.Ref, "#/definitions/")]
		if !ok {
			t.Fatalf("contract: no definition %s", s.Ref)
		}
		s = def
	}
	switch {
	case s.Type == "object" || s.Properties != nil:
		out := map[string]any{}
		for name, ps := range s.Properties {
			out[name] = sampleOf(t, d, ps, joinAt(at, name), set, used)
		}
		return out
	case s.Type == "array":
		return []any{}
	case s.Type == "string":
		return ""
	case s.Type == "boolean":
		return false
	case s.Type == "integer" || s.Type == "number":
		return 0
	}
	return nil
}

// checkReplyNullable is checkContractReply where the fields at the paths
// nullable (as the checker names them: "a.b", "list[0].c") may also be
// null: an object that does not apply, such as an Oracle source's config
// on a MySQL job.
func checkReplyNullable(t *testing.T, method, path string, body []byte, nullable ...string) {
	t.Helper()
	model, ok := contractModel(t, method, path)
	if !ok {
		t.Fatalf("contract: no route %s %s", method, path)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s %s: reply is not JSON: %v", method, path, err)
	}
	d, _ := contract4x()
	var problems []string
	matchSchema(d, model, v, "", &problems)
	problems = slices.DeleteFunc(problems, func(p string) bool {
		where, got, _ := strings.Cut(p, ": want ")
		return strings.HasSuffix(got, ", got null") && slices.Contains(nullable, where)
	})
	if len(problems) > 0 {
		slices.Sort(problems)
		t.Errorf("%s %s: the reply does not fit the contract's model:\n  %s\nreply: %.800s", method, path, strings.Join(problems, "\n  "), body)
	}
}

// TestContractSample: a sample has every field of its model (so it fits
// the model itself) and takes overrides only at paths the model has.
func TestContractSample(t *testing.T) {
	body := contractSample(t, "models.CreateOrUpdateMysqlToMysqlJobParamV2", map[string]any{
		"job_id": "j1", "src_task.connection_config.port": 3306,
	})
	src := body["src_task"].(map[string]any)
	if src["connection_config"].(map[string]any)["port"] != 3306 || body["job_id"] != "j1" {
		t.Errorf("overrides not applied: %v", body)
	}
	for _, k := range []string{"mysql_src_task_config", "oracle_src_task_config", "sql_filter", "replicate_do_db"} {
		if _, ok := src[k]; !ok {
			t.Errorf("sample src_task lacks %s", k)
		}
	}
	if _, ok := body["dest_task"].(map[string]any)["mysql_dest_task_config"].(map[string]any)["set_gtid_next"]; !ok {
		t.Error("sample lacks dest_task.mysql_dest_task_config.set_gtid_next")
	}
}
