package progress

import "sync"

// TableCopy is the full copy of one table as the source reads it.
type TableCopy struct {
	// Schema and Table name it on the destination (after the job's
	// renames), SourceSchema and SourceTable on the source.
	Schema, Table             string
	SourceSchema, SourceTable string
	// Estimate is the server's estimate of the rows to copy
	// (information_schema), 0 when it has none.
	Estimate int64
	// Rows counts the rows read by this copy (a resumed table's rows
	// copied before are not counted).
	Rows int64
	Done bool
}

// copyTables are the tables of the running full copy: the job's own, as
// the copy lists them, so they are bounded by the job. The zero value holds
// none.
type copyTables struct {
	mu    sync.Mutex
	list  []TableCopy
	index map[[2]string]int // destination schema and table to list's index
}

// CopyTables starts the per-table figures of a full copy: every table it
// copies, in its order, those the destination already finished Done.
func (s *Source) CopyTables(tables []TableCopy) {
	t := &s.tables
	t.mu.Lock()
	defer t.mu.Unlock()
	t.list = append([]TableCopy(nil), tables...)
	t.index = make(map[[2]string]int, len(tables))
	for i, c := range tables {
		t.index[[2]string{c.Schema, c.Table}] = i
	}
}

// TableRows counts n more rows read of the table of destination name
// schema.table.
func (s *Source) TableRows(schema, table string, n int64) {
	s.tables.update(schema, table, func(c *TableCopy) { c.Rows += n })
}

// TableDone records that the table of destination name schema.table is
// copied.
func (s *Source) TableDone(schema, table string) {
	s.tables.update(schema, table, func(c *TableCopy) { c.Done = true })
}

func (t *copyTables) update(schema, table string, f func(*TableCopy)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.index[[2]string{schema, table}]; ok {
		f(&t.list[i])
	}
}

// Tables are the figures of the full copy's tables, in the copy's order;
// none before a copy starts or when the task makes none.
func (s *Source) Tables() []TableCopy {
	s.tables.mu.Lock()
	defer s.tables.mu.Unlock()
	return append([]TableCopy(nil), s.tables.list...)
}
