package api_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestSwaggerCoversContract4x: for each 4.x job and data-source route, the
// swagger this API publishes (docs/swagger.json) has the route, and its 200
// model has every field of the contract's model, of the same type, at every
// depth: a UI developer reading either finds the same fields.
func TestSwaggerCoversContract4x(t *testing.T) {
	b, err := os.ReadFile("../docs/swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var ours swaggerDoc
	if err := json.Unmarshal(b, &ours); err != nil {
		t.Fatal(err)
	}
	contract, err := contract4x()
	if err != nil {
		t.Fatal(err)
	}
	routes := []struct{ method, path, ours string }{
		{"get", "/v2/jobs/migration", ""}, {"get", "/v2/jobs/sync", ""}, {"get", "/v2/jobs/subscription", ""},
		{"post", "/v2/job/migration/create", ""}, {"post", "/v2/job/migration/update", ""},
		{"post", "/v2/job/sync/create", ""}, {"post", "/v2/job/sync/update", ""},
		{"post", "/v2/job/subscription/create", ""}, {"post", "/v2/job/subscription/update", ""},
		{"post", "/v2/job/sync/pause", ""}, {"post", "/v2/job/migration/resume", ""}, {"post", "/v2/job/subscription/delete", ""},
		{"get", "/v2/job/migration/detail", ""}, {"get", "/v2/job/sync/detail", ""}, {"get", "/v2/job/subscription/detail", ""},
		{"get", "/v2/job/sync/detail", "/v2/job/{type}/detail"},
		{"get", "/v2/job/position", ""},
		{"get", "/v2/database/schemas", ""}, {"get", "/v2/database/columns", ""}, {"get", "/v2/database/instance_connection", ""},
		{"get", "/v2/mysql/schemas", ""}, {"get", "/v2/mysql/columns", ""}, {"get", "/v2/mysql/instance_connection", ""},
		{"get", "/v2/nodes", ""}, {"get", "/v2/monitor/task", ""},
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			path := r.ours
			if path == "" {
				path = r.path
			}
			want := contract.Paths[r.path][r.method].Responses["200"].Schema
			op, ok := ours.Paths[path][r.method]
			if !ok || want == nil {
				t.Fatalf("docs/swagger.json has no %s %s (or the contract has no model for it)", r.method, path)
			}
			got := op.Responses["200"].Schema
			if got == nil {
				t.Fatalf("docs/swagger.json: %s %s has no 200 model", r.method, path)
			}
			var problems []string
			covers(&ours, contract, *got, *want, "", &problems)
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

// covers collects the fields of the contract's schema want that ours, got,
// lacks or types otherwise.
func covers(ours, contract *swaggerDoc, got, want swaggerSchema, at string, problems *[]string) {
	got, want = resolve(ours, got), resolve(contract, want)
	gt, wt := kind(got), kind(want)
	if wt != "" && gt != wt && (wt != "object" || gt != "") {
		*problems = append(*problems, fmt.Sprintf("%s: %s, the contract says %s", orReply(at), gt, wt))
		return
	}
	for name, w := range want.Properties {
		g, ok := got.Properties[name]
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: missing", joinAt(at, name)))
			continue
		}
		covers(ours, contract, g, w, joinAt(at, name), problems)
	}
	if want.Items != nil && got.Items != nil {
		covers(ours, contract, *got.Items, *want.Items, at+"[]", problems)
	}
}

// resolve follows $ref and a one-element allOf (how swag wraps a described
// reference).
func resolve(d *swaggerDoc, s swaggerSchema) swaggerSchema {
	for {
		switch {
		case s.Ref != "":
			s = d.Definitions[strings.TrimPrefix(s.Ref, "#/definitions/")]
		case len(s.AllOf) == 1 && s.Properties == nil:
			s = s.AllOf[0]
		default:
			return s
		}
	}
}

func kind(s swaggerSchema) string {
	if s.Type == "" && s.Properties != nil {
		return "object"
	}
	return s.Type
}

func orReply(at string) string {
	if at == "" {
		return "(reply)"
	}
	return at
}

// TestSwaggerHasEveryContractRoute: every route of the 4.x contract, with
// its method, is in the swagger this API publishes, beside the 3.x ones.
func TestSwaggerHasEveryContractRoute(t *testing.T) {
	b, err := os.ReadFile("../docs/swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var ours swaggerDoc
	if err := json.Unmarshal(b, &ours); err != nil {
		t.Fatal(err)
	}
	contract, err := contract4x()
	if err != nil {
		t.Fatal(err)
	}
	for path, ops := range contract.Paths {
		for method := range ops {
			if _, ok := ours.Paths[path][method]; !ok {
				t.Errorf("docs/swagger.json has no %s %s of the 4.x contract", method, path)
			}
		}
	}
	for _, legacy := range []string{"/v2/job/{type}", "/v2/jobs", "/v2/job/{type}/detail", "/v2/job/pause", "/v2/monitor/task"} {
		if _, ok := ours.Paths[legacy]; !ok {
			t.Errorf("docs/swagger.json has no 3.x route %s", legacy)
		}
	}
}
