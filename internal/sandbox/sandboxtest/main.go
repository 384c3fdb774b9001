package sandboxtest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/sandbox"
)

// RunTests is a TestMain body for packages that need servers: it starts a
// pair, stores it in *pair, runs the tests and tears the pair down however
// they end. Failing to get servers fails the package with the reason; it
// never skips. Teardown functions run after the tests, before the servers stop.
func RunTests(m *testing.M, pair **sandbox.Pair, teardown ...func()) {
	if fuzzingOnly() {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	p, err := sandbox.StartPair(ctx, "")
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: these tests need MySQL/MariaDB servers and none could be had: %v\n"+
			"Install mariadb-server (apt-get install mariadb-server) or set %s and %s.\n",
			err, sandbox.EnvSource, sandbox.EnvDest)
		os.Exit(1)
	}
	*pair = p
	code := m.Run()
	for _, f := range teardown {
		f()
	}
	p.Close()
	os.Exit(code)
}

// fuzzingOnly reports whether the test binary only fuzzes: a fuzz worker,
// or a run with -fuzz and -run='^$'. Fuzz targets need no servers, and a
// worker that starts two would time out gathering its baseline on a busy
// machine.
func fuzzingOnly() bool {
	flag.Parse() // the testing flags are registered before TestMain
	value := func(name string) string {
		if f := flag.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	return value("test.fuzzworker") == "true" || (value("test.fuzz") != "" && value("test.run") == "^$")
}
