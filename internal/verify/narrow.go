package verify

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtle-io/dtle/internal/retry"
)

// A chunk that differs is compared row by row in a sandwich: the source in
// a snapshot (s1), the destination in a snapshot opened once it has applied
// s1, the source again in a snapshot opened after that (s2). The
// destination's snapshot is at a point of the source's history between s1
// and s2. A row s1 and s2 disagree on was being changed: it is unsettled. A
// row equal in s1 and s2 most likely held that value at that point too, so
// if the destination's differs, the row is a suspect: "most likely", as the
// source may have changed it and changed it back in between (a row
// inserted and deleted again within milliseconds). So a suspect is
// compared again, by key, in new sandwiches after a backoff, and reported
// only once it has differed in `confirmations` sandwiches in a row; a
// suspect found equal once is cleared. Unsettled rows are compared again
// too; those that never hold still through Config.Attempts sandwiches are
// counted as unsettled, neither equal nor different.

// confirmations is how many sandwiches in a row must find a row different
// before it is reported.
const confirmations = 3

// confirmBatch is how many suspects make the walk stop to confirm them.
const confirmBatch = 5000

// keysPerQuery bounds the keys of one IN list.
const keysPerQuery = 500

// keylessNarrowMax bounds the rows of a table without a key whose row
// hashes are counted to tell missing from extra rows.
const keylessNarrowMax = 1_000_000

// rowDiff is a row, or for a table without a key n rows, that differ.
type rowDiff struct {
	kind string
	// key is the row's key as read from the side that has it; text is it
	// as reports show it. Both nil for a table without a key.
	key  []keyValue
	text []string
	n    int64
}

// hashedRow is a row's key and the MD5 of its compared columns.
type hashedRow struct {
	key  []keyValue
	hash [16]byte
}

// rowSet maps keyString(key) to its row.
type rowSet map[string]hashedRow

// keyString is a key as a map key: each value with its length.
func keyString(key []keyValue) string {
	var b strings.Builder
	for _, v := range key {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.Write(v)
	}
	return b.String()
}

// rows reads the key and hash of the rows of chunk c, or of keys when
// not nil, in conn's snapshot.
func (s *side) rows(ctx context.Context, conn *sql.Conn, c chunk, keys [][]keyValue) (rowSet, error) {
	out := rowSet{}
	read := func(cond string, args []any) error {
		q := "SELECT " + s.key.reads() + ", UNHEX(" + s.hash + ") FROM " + s.from + whereClause(s.where, cond)
		rows, err := conn.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("read rows of %s: %w", s.from, err)
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var h []byte
			key, err := scanKey(rows, len(s.key.names), &h)
			if err != nil {
				return fmt.Errorf("read rows of %s: %w", s.from, err)
			}
			if len(h) != 16 {
				return fmt.Errorf("read rows of %s: a hash of %d bytes", s.from, len(h))
			}
			out[keyString(key)] = hashedRow{key: key, hash: [16]byte(h)}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read rows of %s: %w", s.from, err)
		}
		return nil
	}
	if keys == nil {
		var args []any
		return out, read(s.cond(c, &args), args)
	}
	for len(keys) > 0 {
		n := min(len(keys), keysPerQuery)
		var args []any
		if err := read(s.key.in(keys[:n], &args), args); err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return out, nil
}

// suspect is a row that differed, or was caught changing, in a sandwich,
// and is not confirmed yet.
type suspect struct {
	key   []keyValue
	diff  rowDiff
	times int // sandwiches in a row that found it different
}

// narrow compares chunk c row by row in one sandwich and keeps what it
// finds as suspects; confirm decides on them.
func (r *tableRun) narrow(ctx context.Context, c chunk) error {
	if r.p.key == nil {
		diffs, unsettled, err := r.narrowWhole(ctx)
		r.record(diffs, unsettled)
		return err
	}
	s1, d, s2, err := r.sandwich(ctx, c, nil)
	if err != nil {
		return err
	}
	diffs, unsettled := classify(s1, d, s2, r.s.key)
	for _, x := range diffs {
		r.suspects[keyString(x.key)] = &suspect{key: x.key, diff: x, times: 1}
	}
	for _, k := range unsettled {
		r.suspects[keyString(k)] = &suspect{key: k}
	}
	return nil
}

// suspectAll makes rows suspects from scratch (after a repair).
func (r *tableRun) suspectAll(keys [][]keyValue) {
	for _, k := range keys {
		r.suspects[keyString(k)] = &suspect{key: k}
	}
}

// confirm compares the suspects again, by key, until each is confirmed
// (different in `confirmations` sandwiches in a row), cleared (found
// equal) or out of attempts (unsettled), and returns the confirmed ones
// and the number unsettled. No suspect is left.
func (r *tableRun) confirm(ctx context.Context) ([]rowDiff, int64, error) {
	b := retry.New(100*time.Millisecond, 2*time.Second)
	var found []rowDiff
	for attempt := 0; len(r.suspects) > 0 && attempt < r.v.cfg.Attempts; attempt++ {
		var keys [][]keyValue
		for name, s := range r.suspects {
			if s.times >= confirmations {
				found = append(found, s.diff)
				delete(r.suspects, name)
				continue
			}
			keys = append(keys, s.key)
		}
		if len(keys) == 0 {
			break
		}
		if err := b.Wait(ctx); err != nil {
			return nil, 0, err
		}
		s1, d, s2, err := r.sandwich(ctx, chunk{}, keys)
		if err != nil {
			return nil, 0, err
		}
		diffs, unsettled := classify(s1, d, s2, r.s.key)
		moving := map[string]bool{}
		for _, k := range unsettled {
			moving[keyString(k)] = true
		}
		differs := map[string]rowDiff{}
		for _, x := range diffs {
			differs[keyString(x.key)] = x
		}
		for name, s := range r.suspects {
			x, ok := differs[name]
			switch {
			case ok:
				s.diff, s.times = x, s.times+1
			case moving[name]:
				s.times = 0
			default:
				delete(r.suspects, name) // equal
			}
		}
	}
	for name, s := range r.suspects {
		if s.times >= confirmations {
			found = append(found, s.diff)
			delete(r.suspects, name)
		}
	}
	unsettled := int64(len(r.suspects))
	clear(r.suspects)
	sort.Slice(found, func(i, j int) bool { return keyString(found[i].key) < keyString(found[j].key) })
	return found, unsettled, nil
}

// confirmAll confirms the suspects and records the outcome.
func (r *tableRun) confirmAll(ctx context.Context) error {
	found, unsettled, err := r.confirm(ctx)
	if err != nil {
		return err
	}
	r.record(found, unsettled)
	return nil
}

// record adds confirmed differences and unsettled rows to the report.
func (r *tableRun) record(found []rowDiff, unsettled int64) {
	r.found = append(r.found, found...)
	r.set(func(t *TableReport) {
		t.add(found, r.v.cfg.MaxKeys)
		t.Unsettled += unsettled
	})
}

// sandwich reads the rows of c (or keys) on the source, on the destination
// once it holds that snapshot, and on the source again.
func (r *tableRun) sandwich(ctx context.Context, c chunk, keys [][]keyValue) (s1, d, s2 rowSet, err error) {
	first, err := sourceSnapshot(ctx, r.src, r.flavor)
	if err != nil {
		return nil, nil, nil, err
	}
	if s1, err = r.s.rows(ctx, first.conn, c, keys); err != nil {
		first.close(ctx)
		return nil, nil, nil, err
	}
	if err := first.finish(ctx); err != nil {
		return nil, nil, nil, fmt.Errorf("source snapshot: %w", err)
	}
	ds, err := destSnapshot(ctx, r.dst, r.v.cfg.JobID, first.high, r.v.cfg.CatchUpTimeout)
	if err != nil {
		return nil, nil, nil, err
	}
	d, err = r.d.rows(ctx, ds.conn, c, keys)
	ds.close(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	second, err := sourceSnapshot(ctx, r.src, r.flavor)
	if err != nil {
		return nil, nil, nil, err
	}
	s2, err = r.s.rows(ctx, second.conn, c, keys)
	second.close(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return s1, d, s2, r.throttle.take(ctx, int64(len(s1)+len(s2)))
}

// classify sorts the rows of a sandwich: those that differ, by kind, and
// the keys of those the source changed in between.
func classify(s1, d, s2 rowSet, k keyCols) (diffs []rowDiff, unsettled [][]keyValue) {
	seen := map[string]bool{}
	var names []string
	for _, set := range []rowSet{s1, d, s2} {
		for name := range set {
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	for _, name := range names {
		a, inA := s1[name]
		z, inZ := s2[name]
		x, inD := d[name]
		var kind string
		var key []keyValue
		switch {
		case inA != inZ || (inA && a.hash != z.hash):
			if inA {
				unsettled = append(unsettled, a.key)
			} else {
				unsettled = append(unsettled, z.key)
			}
			continue
		case inA && !inD:
			kind, key = KindMissing, a.key
		case !inA && inD:
			kind, key = KindExtra, x.key
		case inA && a.hash != x.hash:
			kind, key = KindDifferent, a.key
		default:
			continue
		}
		text := make([]string, len(key))
		for i, v := range key {
			text[i] = keyText(k.cols[i], v)
		}
		diffs = append(diffs, rowDiff{kind: kind, key: key, text: text, n: 1})
	}
	return diffs, unsettled
}

// hashes hands f the hash of every row of the table on this side.
func (s *side) hashes(ctx context.Context, conn *sql.Conn, f func([16]byte)) error {
	rows, err := conn.QueryContext(ctx, "SELECT UNHEX("+s.hash+") FROM "+s.from+whereClause(s.where, ""))
	if err != nil {
		return fmt.Errorf("read rows of %s: %w", s.from, err)
	}
	defer func() { _ = rows.Close() }()
	var h []byte
	for rows.Next() {
		if err := rows.Scan(&h); err != nil {
			return fmt.Errorf("read rows of %s: %w", s.from, err)
		}
		if len(h) != 16 {
			return fmt.Errorf("read rows of %s: a hash of %d bytes", s.from, len(h))
		}
		f([16]byte(h))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read rows of %s: %w", s.from, err)
	}
	return nil
}

// narrowWhole compares a table without a key in sandwiches of whole-table
// checksums, with its rows' hashes counted on both sides to tell how many
// are missing and how many extra; it returns the difference once
// `confirmations` sandwiches in a row found one, nothing once one found the
// table equal, and the rows the two sides disagreed on last when the
// source never held still.
func (r *tableRun) narrowWhole(ctx context.Context) ([]rowDiff, int64, error) {
	b := retry.New(100*time.Millisecond, 2*time.Second)
	var unsettled int64
	times := 0
	for attempt := 0; attempt < r.v.cfg.Attempts+1; attempt++ {
		if attempt > 0 {
			if err := b.Wait(ctx); err != nil {
				return nil, 0, err
			}
		}
		diffs, settled, n, err := r.wholeSandwich(ctx)
		switch {
		case err != nil:
			return nil, 0, err
		case settled && len(diffs) == 0:
			return nil, 0, nil
		case settled:
			if times++; times >= confirmations {
				return diffs, 0, nil
			}
		default:
			times, unsettled = 0, n
		}
	}
	return nil, max(unsettled, 1), nil
}

// wholeSandwich is one attempt of narrowWhole; settled is false when the
// source changed the table in between, n then being the rows the two sides
// disagreed on.
func (r *tableRun) wholeSandwich(ctx context.Context) (diffs []rowDiff, settled bool, n int64, err error) {
	first, err := sourceSnapshot(ctx, r.src, r.flavor)
	if err != nil {
		return nil, false, 0, err
	}
	sum1, err := r.s.sums(ctx, first.conn, chunk{})
	counted := err == nil && sum1.count <= keylessNarrowMax
	counts := map[[16]byte]int64{}
	if counted {
		err = r.s.hashes(ctx, first.conn, func(h [16]byte) { counts[h]++ })
	}
	if err != nil {
		first.close(ctx)
		return nil, false, 0, err
	}
	if err := first.finish(ctx); err != nil {
		return nil, false, 0, fmt.Errorf("source snapshot: %w", err)
	}
	ds, err := destSnapshot(ctx, r.dst, r.v.cfg.JobID, first.high, r.v.cfg.CatchUpTimeout)
	if err != nil {
		return nil, false, 0, err
	}
	sumD, err := r.d.sums(ctx, ds.conn, chunk{})
	if err == nil && counted {
		err = r.d.hashes(ctx, ds.conn, func(h [16]byte) { counts[h]-- })
	}
	ds.close(ctx)
	if err != nil {
		return nil, false, 0, err
	}
	second, err := sourceSnapshot(ctx, r.src, r.flavor)
	if err != nil {
		return nil, false, 0, err
	}
	sum2, err := r.s.sums(ctx, second.conn, chunk{})
	second.close(ctx)
	if err != nil {
		return nil, false, 0, err
	}
	if err := r.throttle.take(ctx, sum1.count+sum2.count); err != nil {
		return nil, false, 0, err
	}
	var missing, extra int64
	for _, c := range counts {
		if c > 0 {
			missing += c
		} else {
			extra -= c
		}
	}
	switch {
	case sum1 != sum2:
		return nil, false, max(missing+extra, 1), nil
	case sumD == sum1:
		return nil, true, 0, nil
	case !counted:
		// Too many rows to count: the net difference, at least one row.
		missing, extra = max(sum1.count-sumD.count, 0), max(sumD.count-sum1.count, 0)
		r.set(func(t *TableReport) {
			t.Reason = joinReason(t.Reason, fmt.Sprintf("over %d rows without a key: rows counted net, not one by one", keylessNarrowMax))
		})
		if missing+extra == 0 {
			return []rowDiff{{kind: KindDifferent, n: 1}}, true, 0, nil
		}
	}
	if missing > 0 {
		diffs = append(diffs, rowDiff{kind: KindMissing, n: missing})
	}
	if extra > 0 {
		diffs = append(diffs, rowDiff{kind: KindExtra, n: extra})
	}
	return diffs, true, 0, nil
}
