package applier

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
)

// serverText decodes, on the destination server, the text of row's columns
// whose character set Go cannot decode byte for byte (change.ServerDecoded):
// one query for the row turns each value's bytes into the connection's
// UTF-8, which the write turns back into exactly those bytes. Rows without
// such columns cost nothing.
func serverText(ctx context.Context, q querier, t *change.Table, row change.Row) error {
	if row == nil {
		return nil
	}
	var cols []int
	var exprs []string
	var args []any
	for i := range t.Columns {
		c := &t.Columns[i]
		b, ok := row[i].([]byte)
		if !ok || c.Binary || !change.ServerDecoded(c.Charset) {
			continue
		}
		cs := strings.ToLower(c.Charset)
		if !wordName.MatchString(cs) {
			return fmt.Errorf("column %s.%s.%s: character set %q", t.Schema, t.Name, c.Name, c.Charset)
		}
		cols = append(cols, i)
		exprs = append(exprs, "CONVERT(? USING "+cs+")")
		args = append(args, b)
	}
	if len(cols) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, "SELECT "+strings.Join(exprs, ", "), args...)
	if err != nil {
		return &ApplyError{What: fmt.Sprintf("decode text of %s.%s", t.Schema, t.Name), Err: err}
	}
	defer func() { _ = rows.Close() }()
	out := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range out {
		dest[i] = &out[i]
	}
	if !rows.Next() {
		return &ApplyError{What: fmt.Sprintf("decode text of %s.%s", t.Schema, t.Name), Err: rows.Err()}
	}
	if err := rows.Scan(dest...); err != nil {
		return &ApplyError{What: fmt.Sprintf("decode text of %s.%s", t.Schema, t.Name), Err: err}
	}
	for k, i := range cols {
		row[i] = out[k].String
	}
	return rows.Err()
}
