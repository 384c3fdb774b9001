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
	m  map[change.TableName]*change.Table
}

func newTableCache() *tableCache {
	return &tableCache{m: map[change.TableName]*change.Table{}}
}

// querier is a *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// get returns the definition of table, read through q the first time.
func (c *tableCache) get(ctx context.Context, q querier, table change.TableName) (*change.Table, error) {
	c.mu.Lock()
	t, ok := c.m[table]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := tableinfo.Load(ctx, q, table.Schema, table.Table)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.m[table] = t
	c.mu.Unlock()
	return t, nil
}

func (c *tableCache) forget(table change.TableName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, table)
}

func (c *tableCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = map[change.TableName]*change.Table{}
}
