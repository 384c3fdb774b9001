package transport_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/transport"
)

// A job id is one subject token: no wildcard or separator gets through,
// and different ids never share a token.
func TestTokenEscapesSubjectSyntax(t *testing.T) {
	ids := []string{"job1", "job.1", "job~2e1", "job*", "job>", "a b", "ns/job", "ns~2fjob", "", "~", "é"}
	seen := map[string]string{}
	for _, id := range ids {
		tok := transport.Token(id)
		if tok == "" || strings.ContainsAny(tok, ".*> \t\r\n") {
			t.Errorf("Token(%q) = %q: not one plain token", id, tok)
		}
		if other, ok := seen[tok]; ok {
			t.Errorf("Token(%q) = Token(%q) = %q", id, other, tok)
		}
		seen[tok] = id
	}
}

// A destination listening for a job whose id holds wildcards hears only
// that job: today's "dtle.<job>.hello" made "*" and ">" wildcards, so a job
// named "a.*" answered the hello of job "a.b".
func TestWildcardJobIDHearsOnlyItself(t *testing.T) {
	nc := connect(t)
	recv, err := transport.Listen(context.Background(), nc, "a.*", stubHandler{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	for _, other := range []string{"a.b", "a.>", "a"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := transport.NewSender(nc, other, nil).Hello(ctx)
		cancel()
		if !errors.Is(err, transport.ErrNoDestination) {
			t.Errorf("hello of job %q was answered by job \"a.*\": %v", other, err)
		}
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if _, err := transport.NewSender(nc, "a.*", nil).Hello(ctx2); err != nil {
		t.Fatalf("the job's own hello: %v", err)
	}
}
