package sandboxtest

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// Logger is an hclog logger writing to the test's log.
func Logger(t testing.TB, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Info, Output: testWriter{t}})
}

// testWriter hands each write to t.Log, so output lands with its test.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
