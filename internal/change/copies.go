package change

import "fmt"

// CopySnapshots are the snapshots finished tables were copied at, kept while
// the applied set has not passed them all. Tables may be copied at
// different snapshots (a copy that resumed took a new one), and the binlog
// is read from the earliest: a binlog event of a table inside that table's
// own snapshot is already in its copy and must be skipped, rows and DDL
// alike. A CopySnapshots is never changed; a nil one holds nothing.
type CopySnapshots struct {
	pos    map[TableName]GTIDSet // the snapshot each table was copied at
	latest GTIDSet               // contains every snapshot in pos
}

// NewCopySnapshots collects the snapshots of the done tables; nil when
// there are none or executed (may be nil) contains them all.
func NewCopySnapshots(flavor string, tables []TableProgress, executed GTIDSet) (*CopySnapshots, error) {
	c := &CopySnapshots{pos: map[TableName]GTIDSet{}}
	for _, p := range tables {
		if !p.Done {
			continue
		}
		set, err := ParseGTIDSet(flavor, p.Snapshot)
		if err != nil {
			return nil, fmt.Errorf("copy position of %s.%s: %w", p.Schema, p.Table, err)
		}
		c.pos[p.Name()] = set
		if c.latest == nil || Before(c.latest, set) {
			c.latest = set
		}
	}
	if c.latest == nil || c.PassedBy(executed) {
		return nil, nil
	}
	return c, nil
}

// Holds reports whether the copy of table holds transaction gtid.
func (c *CopySnapshots) Holds(table TableName, gtid string) (bool, error) {
	if c == nil {
		return false, nil
	}
	pos, ok := c.pos[table]
	if !ok {
		return false, nil
	}
	return pos.Contains(gtid)
}

// HoldsAll reports whether the copies of all tables hold transaction gtid;
// false without tables.
func (c *CopySnapshots) HoldsAll(tables []TableName, gtid string) (bool, error) {
	if c == nil || len(tables) == 0 {
		return false, nil
	}
	for _, t := range tables {
		if in, err := c.Holds(t, gtid); err != nil || !in {
			return false, err
		}
	}
	return true, nil
}

// PassedBy reports whether executed contains every snapshot, so that no
// binlog event is in a copy any more.
func (c *CopySnapshots) PassedBy(executed GTIDSet) bool {
	return c == nil || executed != nil && executed.ContainsSet(c.latest)
}

// BinlogStart is where the binlog is applied from once the full copy is
// done: the copy's final snapshot (copyDone, the KindCopyDone message's
// position), or the earliest snapshot a table was copied at when a resumed
// copy took several. Events inside a table's own snapshot are skipped by
// CopySnapshots.
func BinlogStart(flavor, copyDone string, tables []TableProgress) (GTIDSet, error) {
	start, err := ParseGTIDSet(flavor, copyDone)
	if err != nil {
		return nil, fmt.Errorf("copy done: %w", err)
	}
	for _, p := range tables {
		set, err := ParseGTIDSet(flavor, p.Snapshot)
		if err != nil {
			return nil, fmt.Errorf("copy position of %s.%s: %w", p.Schema, p.Table, err)
		}
		if Before(set, start) {
			start = set
		}
	}
	return start, nil
}
