package extractor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/google/uuid"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/progress"
)

// maxMessageBytes caps the row data of one message; a bigger transaction
// goes in parts.
const maxMessageBytes = 4 << 20

// binlogEventBuffer is how many parsed binlog events may wait for the
// extractor. The syncer counts events, not bytes: a rows event holds at
// least one whole row, so with rows of a few MiB (BLOB and TEXT values)
// 128 events held 300 MiB; 16 keep the read-ahead (most rows events are
// 8 KiB) and bound what waits to 16 rows however wide.
const binlogEventBuffer = 16

// stream reads the binlog after from and sends whole transactions, in
// groups of up to group_max_size, waiting at most group_timeout to fill one.
func (e *Extractor) stream(ctx context.Context, from change.GTIDSet) error {
	c := e.cfg.Task.ConnectionConfig
	gtidSet := from.String()
	set, err := gomysql.ParseGTIDSet(e.flavor, gtidSet)
	if err != nil {
		return fmt.Errorf("binlog start %q: %w", gtidSet, err)
	}
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID:                e.serverID(),
		Flavor:                  e.flavor,
		Host:                    c.Host,
		Port:                    uint16(c.Port),
		User:                    c.User,
		Password:                c.Password,
		Charset:                 "utf8mb4",
		TimestampStringLocation: time.UTC,
		HeartbeatPeriod:         5 * time.Second,
		ReadTimeout:             30 * time.Second,
		DisableRetrySync:        true, // our caller resumes from the destination checkpoint instead
		// The syncer parses ahead of us into a channel of this many events.
		// Its default (10240) bounds nothing when rows are large: 10240
		// events of 64 KiB rows are 640 MiB. Rows events are mostly 8 KiB.
		EventCacheCount: binlogEventBuffer,
		// JSON values as MySQL's text: keys in stored order, doubles and
		// decimals as written (jsonText undoes the HTML escaping left).
		RenderJSONAsMySQLText: true,
		Logger:                newSlog(e.log.Named("binlog")),
	})
	defer syncer.Close()
	streamer, err := syncer.StartSyncGTID(set)
	if err != nil {
		return fmt.Errorf("start binlog stream at %q: %w", gtidSet, err)
	}
	e.log.Info("reading binlog", "from", gtidSet, "server_id", e.serverID())
	timeout := time.Duration(max(e.cfg.Task.GroupTimeout, 1)) * time.Millisecond
	// A failed send ends the wait for the binlog, with its error.
	readCtx, failed := context.WithCancelCause(ctx)
	defer failed(nil)
	g := txnGrouper{e: e, max: max(e.cfg.Task.GroupMaxSize, 1), timeout: timeout, read: from.Clone(),
		out: startOutbox(ctx, e.cfg.Sender, failed)}
	defer g.out.close()
	progress.Set(&e.Stats.GTIDSet, gtidSet)
	for {
		ev, err := e.next(readCtx, streamer, g.wait())
		if ctx.Err() == nil && readCtx.Err() != nil {
			return context.Cause(readCtx)
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			e.Stats.SentByTimeout.Add(1)
			if err := g.flush(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var me *gomysql.MyError
			if errors.As(err, &me) && me.Code == gomysql.ER_MASTER_FATAL_ERROR_READING_BINLOG {
				return &BinlogGoneError{GTIDSet: gtidSet, Reason: me.Message}
			}
			return fmt.Errorf("read binlog: %w", err)
		}
		if err := g.handle(ctx, ev); err != nil {
			return err
		}
		if err := g.drain(ctx, streamer); err != nil {
			return err
		}
	}
}

// drain reads what the stream holds already and, once it holds nothing
// more, sends the transactions ready when nothing is on its way to the
// destination: whatever waits then only adds to the destination's lag.
// While a group is on its way, one sent now would wait for it anyway, so
// the ready ones gather more, which costs both tasks less CPU per
// transaction, until the stream pauses for idleFlush (wait), or
// group_timeout, or the next event finds the way free.
func (g *txnGrouper) drain(ctx context.Context, s *replication.BinlogStreamer) error {
	for len(g.ready) > 0 {
		if !time.Now().Before(g.due) {
			return g.flush(ctx)
		}
		more := s.DumpEvents()
		if len(more) == 0 {
			if g.out != nil && g.out.busy() {
				return nil
			}
			return g.flush(ctx)
		}
		for _, ev := range more {
			if err := g.handle(ctx, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// next waits for an event; with complete transactions pending it waits only
// until they are due, so a quiet source does not hold them back.
func (e *Extractor) next(ctx context.Context, s *replication.BinlogStreamer, due time.Time) (*replication.BinlogEvent, error) {
	if due.IsZero() {
		return s.GetEvent(ctx)
	}
	tctx, cancel := context.WithDeadline(ctx, due)
	defer cancel()
	return s.GetEvent(tctx)
}

// txnGrouper turns binlog events into transactions and sends them.
type txnGrouper struct {
	e     *Extractor
	max   int
	file  string
	ready []change.Txn // complete transactions not sent yet
	cur   *change.Txn  // the transaction being read
	size  int          // bytes of cur's changes
	// timeout is group_timeout; due is when the oldest of ready must be
	// sent, zero while ready is empty.
	timeout time.Duration
	due     time.Time
	read    change.GTIDSet
	// out sends the groups (nil: flush sends them itself).
	out *outbox
	// published is when read was last published to Stats.
	published time.Time
	// applied says cur was committed by a dtle applier that
	// skip_dtle_applied drops; sentParts that parts of cur have gone;
	// data that cur changes a table other than dtle's checkpoint.
	applied, sentParts, data bool
}

// idleFlush is how long the stream may stay quiet before the transactions
// ready are sent, group or not. Under load the binlog's events come closer
// together than this and groups fill; a source that pauses gets its last
// transactions applied at once rather than after group_timeout, so the
// destination's lag is the time it takes to apply them.
const idleFlush = 500 * time.Microsecond

// wait is when the next event is waited for no longer: the first of the
// group's due time and idleFlush from now; zero (no limit) while no
// transaction is ready.
func (g *txnGrouper) wait() time.Time {
	if len(g.ready) == 0 {
		return time.Time{}
	}
	if idle := time.Now().Add(idleFlush); idle.Before(g.due) {
		return idle
	}
	return g.due
}

func (g *txnGrouper) flush(ctx context.Context) error {
	if len(g.ready) == 0 {
		return nil
	}
	m := &change.Message{Kind: change.KindTxns, Flavor: g.e.flavor, Txns: g.ready}
	var err error
	if g.out != nil {
		err = g.out.put(ctx, m)
	} else {
		err = g.e.cfg.Sender.Send(ctx, m)
	}
	g.ready, g.due = nil, time.Time{}
	g.e.Stats.Pending.Store(0)
	return err
}

// commit ends the current transaction.
func (g *txnGrouper) commit(ctx context.Context, h *replication.EventHeader) error {
	t := g.cur
	g.cur, g.size = nil, 0
	if t == nil {
		return nil
	}
	applied, data := g.applied, g.data
	g.applied, g.sentParts, g.data = false, false, false
	if applied && !data && t.DDL == nil {
		// Only another job's checkpoint: the peer recording what this job
		// sent it. Sent, it would make this job's applier write its own
		// checkpoint, which the peer would send back, and so on forever.
		g.track(t.GTID)
		return nil
	}
	if applied {
		// Sent empty, so its GTID still counts as handled.
		t.Changes, t.DDL = nil, nil
	}
	t.LogFile, t.LogPos = g.file, h.LogPos
	g.e.Stats.TxnsRead.Add(1)
	g.e.Stats.BinlogPos.Store(int64(h.LogPos))
	g.e.Stats.LastCommitTS.Store(int64(t.Timestamp))
	g.track(t.GTID)
	if len(g.ready) == 0 {
		g.due = time.Now().Add(g.timeout)
	}
	g.ready = append(g.ready, *t)
	g.e.Stats.Pending.Store(int64(len(g.ready)))
	if len(g.ready) >= g.max || t.More || t.DDL != nil {
		if len(g.ready) >= g.max {
			g.e.Stats.SentBySizeFull.Add(1)
		}
		return g.flush(ctx)
	}
	return nil
}

// begin starts a transaction at its GTID event; commitMicros is MySQL 8's
// immediate commit timestamp, 0 where the server writes none.
func (g *txnGrouper) begin(gtid string, h *replication.EventHeader, commitMicros uint64) {
	g.cur = &change.Txn{GTID: gtid, Timestamp: h.Timestamp, LogFile: g.file, ServerID: h.ServerID, CommitMicros: commitMicros}
	g.size = 0
	g.applied, g.sentParts, g.data = false, false, false
}

// eventStart is where an event starts in its binlog file: its header holds
// where the next one starts. 0 for an event the server made up.
func eventStart(h *replication.EventHeader) uint32 {
	if h.LogPos < h.EventSize {
		return 0
	}
	return h.LogPos - h.EventSize
}

func (g *txnGrouper) handle(ctx context.Context, ev *replication.BinlogEvent) error {
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		g.file = string(e.NextLogName)
		file := g.file // readers get their own copy
		g.e.Stats.BinlogFile.Store(&file)
	case *replication.GTIDEvent:
		gtid, err := mysqlGTID(e)
		if err != nil {
			return err
		}
		g.begin(gtid, ev.Header, e.ImmediateCommitTimestamp)
	case *replication.MariadbGTIDEvent:
		g.begin(fmt.Sprintf("%d-%d-%d", e.GTID.DomainID, e.GTID.ServerID, e.GTID.SequenceNumber), ev.Header, 0)
	case *replication.QueryEvent:
		return g.query(ctx, ev.Header, e)
	case *replication.XIDEvent:
		return g.commit(ctx, ev.Header)
	case *replication.RowsEvent:
		return g.rows(ctx, ev.Header, e)
	}
	return nil
}

func (g *txnGrouper) query(ctx context.Context, h *replication.EventHeader, q *replication.QueryEvent) error {
	sql := strings.TrimSpace(string(q.Query))
	if g.cur != nil {
		g.cur.Thread, g.cur.ThreadKnown = q.SlaveProxyID, true
	}
	switch {
	case strings.EqualFold(sql, "BEGIN"):
		return nil
	case strings.EqualFold(sql, "COMMIT"):
		return g.commit(ctx, h)
	}
	if g.cur == nil {
		return nil // outside any GTID: nothing of ours
	}
	if job, ok := change.AppliedBy(sql); ok && g.skips(job) {
		g.applied, g.data = true, true // sent empty: the peer records it
		return g.commit(ctx, h)
	}
	ddl, err := g.e.routeDDL(ctx, sql, string(q.Schema))
	if err != nil {
		return err
	}
	if ddl != nil {
		ddl.Pos = eventStart(h)
	}
	g.cur.DDL = ddl
	// A statement with its own GTID is its own transaction. An ignored
	// one still ends, with no content, so its GTID is recorded.
	return g.commit(ctx, h)
}

// rowEvents are the ignore_event names of row changes.
var rowEvents = map[change.Op]filter.Event{change.OpInsert: filter.Insert, change.OpUpdate: filter.Update, change.OpDelete: filter.Delete}

func rowsOp(t replication.EventType) (change.Op, bool) {
	switch t {
	case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2,
		replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1:
		return change.OpInsert, true
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2,
		replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1, replication.PARTIAL_UPDATE_ROWS_EVENT:
		return change.OpUpdate, true
	case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2,
		replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1:
		return change.OpDelete, true
	}
	return 0, false
}

// rows adds a row event's changes. Values go as the binlog holds them:
// the destination reads them against its own table definition, which is
// the source's as of this event (DDL is applied in order), where a lookup
// on the source now could see a later schema.
func (g *txnGrouper) rows(ctx context.Context, h *replication.EventHeader, ev *replication.RowsEvent) error {
	op, ok := rowsOp(h.EventType)
	if !ok || g.cur == nil {
		return nil
	}
	schema, name := string(ev.Table.Schema), string(ev.Table.Table)
	if g.e.cfg.Task.SkipDtleApplied && dtleCheckpoint(schema, name) {
		g.markApplied(ev)
		return nil
	}
	g.data = true
	if g.applied {
		return nil // dropped whole at its commit
	}
	tg := g.e.rules.Table(schema, name)
	if tg == nil || tg.Ignores(rowEvents[op]) {
		return nil
	}
	var sh *shape
	if tg.Reshapes() {
		var err error
		if sh, err = g.e.binlogShape(ctx, tg, ev.Table); err != nil {
			return err
		}
	}
	step := 1
	if op == change.OpUpdate {
		step = 2
	}
	js := jsonColumns(ev.Table)
	pos := eventStart(h)
	for i := 0; i+step <= len(ev.Rows); i += step {
		c := change.RowChange{Op: op, Schema: tg.Schema, Table: tg.Table, Pos: pos, Row: uint32(i / step), When: h.Timestamp}
		first, err := rawRow(ev.Rows[i], js)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", schema, name, err)
		}
		switch op {
		case change.OpInsert:
			c.After = first
		case change.OpDelete:
			c.Before = first
		case change.OpUpdate:
			c.Before = first
			if c.After, err = rawRow(ev.Rows[i+1], js); err != nil {
				return fmt.Errorf("%s.%s: %w", schema, name, err)
			}
		}
		g.e.Stats.RowsRead.Add(1)
		if sh != nil {
			keep := false
			if c, keep, err = sh.apply(c); err != nil {
				return fmt.Errorf("%s.%s: %w", schema, name, err)
			}
			if !keep {
				continue
			}
		}
		g.cur.Changes = append(g.cur.Changes, c)
		g.size += change.RowBytes(c.Before) + change.RowBytes(c.After)
	}
	// A two-way job holds a transaction whole until its commit: the applier
	// of the other direction may write its checkpoint row last, and a part
	// sent before it is seen would go back to where it came from. Such a
	// transaction costs memory in its size (docs/replication.md).
	if g.size >= maxMessageBytes && !g.e.cfg.Task.SkipDtleApplied {
		return g.sendPart(ctx)
	}
	return nil
}

// dtleCheckpoint says a table is where dtle appliers record their jobs'
// positions.
func dtleCheckpoint(schema, table string) bool {
	return schema == change.CheckpointSchema && table == change.CheckpointTable
}

// skips says skip_dtle_applied drops what job applied: any job's, or only
// skip_dtle_applied_by's.
func (g *txnGrouper) skips(job string) bool {
	t := g.e.cfg.Task
	return t.SkipDtleApplied && (t.SkipDtleAppliedBy == "" || t.SkipDtleAppliedBy == job)
}

// markApplied marks the current transaction as a dtle applier's if a
// checkpoint row it writes (job id first) is of a job skip_dtle_applied
// drops. The applier writes its checkpoint first in a transaction it
// applies in parts, so a marked transaction has sent none.
func (g *txnGrouper) markApplied(ev *replication.RowsEvent) {
	if g.cur == nil || g.applied {
		return
	}
	for _, row := range ev.Rows {
		if len(row) == 0 {
			continue
		}
		var job string
		switch v := row[0].(type) {
		case string:
			job = v
		case []byte:
			job = string(v)
		default:
			continue
		}
		if g.skips(job) {
			g.applied = true
			break
		}
	}
	if g.applied && g.sentParts {
		g.e.log.Warn("a transaction dtle applied was recognised after parts of it were sent", "gtid", g.cur.GTID)
	}
	if g.applied {
		g.cur.Changes, g.size = nil, 0
	}
}

// sendPart sends what the current transaction has so far and keeps reading it.
func (g *txnGrouper) sendPart(ctx context.Context) error {
	part := *g.cur
	part.More = true
	g.sentParts = true
	g.ready = append(g.ready, part)
	g.cur.Changes, g.size = nil, 0
	return g.flush(ctx)
}

// track adds a transaction to the GTID set read, published at most once a
// second (formatting a long set for every transaction would cost).
func (g *txnGrouper) track(gtid string) {
	if g.read == nil || gtid == "" {
		return
	}
	if err := g.read.Add(gtid); err != nil {
		return
	}
	if now := time.Now(); now.Sub(g.published) >= time.Second {
		g.published = now
		s := g.read.String()
		g.e.Stats.GTIDSet.Store(&s)
	}
}

// mysqlGTID is a MySQL GTID event's GTID, uuid:number or, from MySQL 8.4,
// uuid:tag:number.
func mysqlGTID(e *replication.GTIDEvent) (string, error) {
	u, err := uuid.FromBytes(e.SID)
	if err != nil {
		return "", fmt.Errorf("gtid event: %w", err)
	}
	gno := strconv.FormatInt(e.GNO, 10)
	if tag := e.Tag.String(); tag != "" {
		return u.String() + ":" + tag + ":" + gno, nil
	}
	return u.String() + ":" + gno, nil
}
