package applier

import (
	"context"
	"database/sql"
	"sync"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// tableCache holds the destination's table definitions, read from its
// information_schema; replicated DDL keeps them equal to the source's at the
// position being applied. DDL forgets the tables it touches.
type tableCache struct {
	mu sync.Mutex
	m  map[string]*change.Table
}

func newTableCache() *tableCache {
	return &tableCache{m: map[string]*change.Table{}}
}

// querier is a *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (c *tableCache) get(ctx context.Context, q querier, schema, table string) (*change.Table, error) {
	key := schema + "." + table
	c.mu.Lock()
	t, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := tableinfo.Load(ctx, q, schema, table)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.m[key] = t
	c.mu.Unlock()
	return t, nil
}

func (c *tableCache) forget(schema, table string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, schema+"."+table)
}

func (c *tableCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = map[string]*change.Table{}
}
