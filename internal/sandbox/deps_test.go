package sandbox_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBinariesDoNotLinkTesting guards the split between sandbox and
// sandboxtest: the binaries use sandbox, and no package of this module that
// they link may import testing. Where a binary still links testing through
// a dependency, the case says which and why.
func TestBinariesDoNotLinkTesting(t *testing.T) {
	cases := []struct {
		name string
		dir  string // relative to this package
		// thirdParty says why a dependency outside this module may still
		// import testing; "" means no package at all may.
		thirdParty string
	}{
		{name: "bench", dir: "../../bench"},
		{name: "demo", dir: "../../cmd/dtle-demo",
			thirdParty: "docs links swag, whose golang.org/x/tools imports testing"},
		{name: "plugin", dir: "../../cmd/dtle",
			thirdParty: "Nomad's plugin SDK (go-plugin, raft) imports testing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			deps := listDeps(t, tc.dir)
			for _, p := range deps.pkgs {
				if !p.imports["testing"] || (tc.thirdParty != "" && !p.main) {
					continue
				}
				t.Errorf("%s links testing through %s: %s", tc.dir, p.path, strings.Join(deps.chain(p.path), " -> "))
			}
		})
	}
}

// depPkg is one package that a binary links.
type depPkg struct {
	path    string
	main    bool // part of this module
	imports map[string]bool
}

// depGraph is what `go list -deps` reports for one binary, in its order
// (every package after the packages it imports; the binary last).
type depGraph struct {
	pkgs []depPkg
}

// listDeps runs `go list -deps` on dir with the go command from PATH.
func listDeps(t *testing.T, dir string) depGraph {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const format = `{{.ImportPath}}|{{with .Module}}{{.Main}}{{end}}|{{join .Imports " "}}`
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, goBin, "list", "-deps", "-f", format, dir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v: %s", dir, err, stderr.String())
	}
	var g depGraph
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.SplitN(line, "|", 3)
		if len(fields) != 3 {
			t.Fatalf("go list -deps %s: unexpected line %q", dir, line)
		}
		p := depPkg{path: fields[0], main: fields[1] == "true", imports: map[string]bool{}}
		for _, imp := range strings.Fields(fields[2]) {
			p.imports[imp] = true
		}
		g.pkgs = append(g.pkgs, p)
	}
	if len(g.pkgs) == 0 {
		t.Fatalf("go list -deps %s: no packages", dir)
	}
	return g
}

// chain is a path of imports from the binary to target, ending in testing.
func (g depGraph) chain(target string) []string {
	byPath := map[string]depPkg{}
	for _, p := range g.pkgs {
		byPath[p.path] = p
	}
	root := g.pkgs[len(g.pkgs)-1].path
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == target {
			break
		}
		for imp := range byPath[cur].imports {
			if _, seen := prev[imp]; !seen {
				prev[imp] = cur
				queue = append(queue, imp)
			}
		}
	}
	path := []string{"testing"}
	for p := target; p != ""; p = prev[p] {
		path = append([]string{p}, path...)
	}
	return path
}
