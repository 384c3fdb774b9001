package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The 4.x UI's contract: testdata/dtle-4.x-ui-api.swagger.json, the swagger
// file of the routes and models the UI uses. checkContractReply holds a
// 200 reply to the model the contract gives for its route: every field of
// the model, with its JSON type, all the way down.

const contract4xPath = "testdata/dtle-4.x-ui-api.swagger.json"

type swaggerSchema struct {
	Ref        string                   `json:"$ref"`
	Type       string                   `json:"type"`
	Properties map[string]swaggerSchema `json:"properties"`
	Items      *swaggerSchema           `json:"items"`
	AllOf      []swaggerSchema          `json:"allOf"`
}

type swaggerDoc struct {
	Definitions map[string]swaggerSchema `json:"definitions"`
	Paths       map[string]map[string]struct {
		Responses map[string]struct {
			Schema *swaggerSchema `json:"schema"`
		} `json:"responses"`
	} `json:"paths"`
}

var contract4x = sync.OnceValues(func() (*swaggerDoc, error) {
	b, err := os.ReadFile(contract4xPath)
	if err != nil {
		return nil, err
	}
	var d swaggerDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", contract4xPath, err)
	}
	return &d, nil
})

// contractModel is the schema of the 200 reply of method path in the
// contract; ok is false for a route the contract does not have.
func contractModel(t *testing.T, method, path string) (swaggerSchema, bool) {
	t.Helper()
	d, err := contract4x()
	if err != nil {
		t.Fatal(err)
	}
	path, _, _ = strings.Cut(path, "?")
	op, ok := d.Paths[path][strings.ToLower(method)]
	if !ok {
		return swaggerSchema{}, false
	}
	r, ok := op.Responses["200"]
	if !ok || r.Schema == nil {
		t.Fatalf("contract: %s %s has no 200 schema", method, path)
	}
	return *r.Schema, true
}

// checkContractReply fails unless body has every field of the contract's
// 200 model of method path, with its type. Fields the model lacks are
// allowed (the API may say more).
func checkContractReply(t *testing.T, method, path string, body []byte) {
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
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("%s %s: the reply does not fit the contract's model:\n  %s\nreply: %.600s", method, path, strings.Join(problems, "\n  "), body)
	}
}

// matchSchema collects where v differs from schema s.
func matchSchema(d *swaggerDoc, s swaggerSchema, v any, at string, problems *[]string) {
	for s.Ref != "" {
		name := strings.TrimPrefix(s.Ref, "#/definitions/")
		def, ok := d.Definitions[name]
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: contract has no definition %s", at, name))
			return
		}
		s = def
	}
	for _, part := range s.AllOf {
		matchSchema(d, part, v, at, problems)
	}
	typ := s.Type
	if typ == "" && s.Properties != nil {
		typ = "object"
	}
	where := at
	if where == "" {
		where = "(reply)"
	}
	bad := func(want string) {
		*problems = append(*problems, fmt.Sprintf("%s: want %s, got %s", where, want, jsonKindOf(v)))
	}
	switch typ {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("an object")
			return
		}
		for name, ps := range s.Properties {
			fv, present := obj[name]
			if !present {
				*problems = append(*problems, fmt.Sprintf("%s: missing", joinAt(at, name)))
				continue
			}
			matchSchema(d, ps, fv, joinAt(at, name), problems)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			bad("an array")
			return
		}
		if s.Items != nil {
			for i, x := range arr {
				matchSchema(d, *s.Items, x, fmt.Sprintf("%s[%d]", at, i), problems)
			}
		}
	case "string":
		if _, ok := v.(string); !ok {
			bad("a string")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("a boolean")
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != math.Trunc(f) {
			bad("an integer")
		}
	case "number":
		if _, ok := v.(float64); !ok {
			bad("a number")
		}
	}
}

func joinAt(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

func jsonKindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return fmt.Sprintf("the number %v", x)
	}
	return fmt.Sprintf("%T", v)
}

// TestContractChecker: the checker refuses a reply without a field of the
// model, or with a field of the wrong type, and takes one that fits.
func TestContractChecker(t *testing.T) {
	cases := []struct {
		name, body string
		ok         bool
	}{
		{"fits", `{"message":"ok","user_list":[{"tenant":"t","username":"u","role":"r","remark":"","create_time":"","password":"*"}]}`, true},
		{"empty list fits", `{"message":"ok","user_list":[]}`, true},
		{"null list", `{"message":"ok","user_list":null}`, false},
		{"field missing in an item", `{"message":"ok","user_list":[{"tenant":"t","username":"u","role":"r","remark":"","create_time":""}]}`, false},
		{"wrong type", `{"message":1,"user_list":[]}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			model, _ := contractModel(t, "GET", "/v2/user/list")
			var v any
			if err := json.Unmarshal([]byte(c.body), &v); err != nil {
				t.Fatal(err)
			}
			d, _ := contract4x()
			var problems []string
			matchSchema(d, model, v, "", &problems)
			if (len(problems) == 0) != c.ok {
				t.Errorf("problems %v, want ok=%v", problems, c.ok)
			}
		})
	}
}
