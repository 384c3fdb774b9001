package api_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/api"
)

// Every route of the 4.x UI's contract, and of this API's own swagger
// (docs/swagger.json, which holds the 3.x routes), is served: a route a
// UI or a script calls never meets "no such route".
func TestEveryContractRouteIsServed(t *testing.T) {
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: "127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	e, ok := srv.Handler().(*echo.Echo)
	if !ok {
		t.Fatal("the handler is not echo's")
	}
	param := regexp.MustCompile(`:[a-z_]+`)
	var served []*regexp.Regexp
	var methods []string
	for _, r := range e.Routes() {
		served = append(served, regexp.MustCompile("^"+param.ReplaceAllString(regexp.QuoteMeta(r.Path), `[^/]+`)+"$"))
		methods = append(methods, r.Method)
	}
	serves := func(method, path string) bool {
		path = regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllString(path, "x")
		for i, re := range served {
			if strings.EqualFold(methods[i], method) && re.MatchString(path) {
				return true
			}
		}
		return false
	}
	contract, err := contract4x()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, ops := range contract.Paths {
		for method := range ops {
			n++
			if !serves(method, path) {
				t.Errorf("the 4.x contract's %s %s is not served", strings.ToUpper(method), path)
			}
		}
	}
	if n < 53 {
		t.Errorf("read %d routes of the 4.x contract, want its 53", n)
	}
}
