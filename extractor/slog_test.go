package extractor

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestSlogKeepsLevelsAndAttrs(t *testing.T) {
	var buf strings.Builder
	l := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info})
	s := newSlog(l).With("conn", 7)
	s.Debug("hidden")
	s.Error("lost connection", "err", "EOF")
	out := buf.String()
	if strings.Contains(out, "hidden") || !strings.Contains(out, "[ERROR]") ||
		!strings.Contains(out, "conn=7") || !strings.Contains(out, "err=EOF") {
		t.Fatalf("got %q", out)
	}
}
