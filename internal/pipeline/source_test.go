package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/dtle-io/dtle/applier"
	"github.com/dtle-io/dtle/extractor"
	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/position"
	"github.com/dtle-io/dtle/internal/retry"
	"github.com/dtle-io/dtle/internal/transport"
	"github.com/dtle-io/dtle/kafka"
)

// The one resume policy: fatal errors end the source at once, a destination
// that is away is waited out without counting, and other failures end it
// after maxSourceFailures in a row.
func TestSourceResumePolicy(t *testing.T) {
	fast := func() *retry.Backoff { return retry.New(time.Microsecond, time.Microsecond) }
	s := Source{Logger: hclog.NewNullLogger()}
	ctx := context.Background()

	calls := 0
	gone := &extractor.BinlogGoneError{GTIDSet: "0-1-5", Reason: "purged"}
	err := s.resume(ctx, func(context.Context) error { calls++; return gone }, fast())
	if !errors.As(err, &gone) || calls != 1 {
		t.Fatalf("fatal: %v after %d attempts", err, calls)
	}

	calls = 0
	err = s.resume(ctx, func(context.Context) error {
		if calls++; calls < 3*maxSourceFailures {
			return fmt.Errorf("hello: %w", transport.ErrNoDestination)
		}
		return errors.New("source server gone")
	}, fast())
	if err == nil || calls != 3*maxSourceFailures-1+maxSourceFailures {
		t.Fatalf("away destination counted: %v after %d attempts", err, calls)
	}

	ctx, cancel := context.WithCancel(ctx)
	calls = 0
	err = s.resume(ctx, func(context.Context) error {
		if calls++; calls == 3 {
			cancel()
		}
		return transport.ErrResync
	}, fast())
	if err != nil || calls != 3 {
		t.Fatalf("cancelled: %v after %d attempts", err, calls)
	}
}

func TestFatalClassifiesEveryStagesErrors(t *testing.T) {
	fatal := []error{
		&extractor.BinlogGoneError{}, extractor.ErrFlavorChanged, extractor.ErrBadRule, extractor.ErrSchemaAhead,
		&transport.IncompatibleError{Source: 3, Dest: 2}, kafka.ErrBadOffsets, kafka.ErrUnknownTable,
		&kafka.RowError{Table: "s.t", Have: 1, Expected: 2}, applier.ErrRefusedDDL, change.ErrTooLarge,
		position.ErrBadStatement, // a refused replacement: a person gives another
	}
	for _, err := range fatal {
		if !Fatal(fmt.Errorf("wrapped: %w", err)) {
			t.Errorf("%T %v is not fatal", err, err)
		}
	}
	for _, err := range []error{nil, transport.ErrResync, transport.ErrNoDestination, &transport.RemoteError{Msg: "x"},
		context.DeadlineExceeded, errors.New("connection refused")} {
		if Fatal(err) {
			t.Errorf("%v is fatal", err)
		}
	}
}
