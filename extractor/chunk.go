package extractor

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
)

// maxChunkBytes caps a chunk message before compression, keyed or not.
const maxChunkBytes = 4 << 20

// chunkReader reads one table inside the snapshot and sends its chunks.
type chunkReader struct {
	e    *Extractor
	conn *sql.Conn
	t    *change.Table // as sent: destination names, the columns read
	size int
	// cols are the quoted source names of t's columns, from the source
	// table; where, when not empty, selects the rows.
	cols  []string
	from  string
	where string
	kinds []packKind // how each column is packed (kindOf)
	// p packs every query's rows: kept across queries, each chunk's buffer
	// starts at the size of the chunk before it instead of growing from
	// nothing (one chunk per query when a table is read by key).
	p change.RowPacker
}

// selectList is what the copy selects: the columns, with each FLOAT as a
// double. The server writes a FLOAT as text with 6 significant digits
// (3.1415927 as 3.14159), which would change the value; as a double its text
// holds the stored float exactly, and the destination's FLOAT column (or the
// Kafka sink, which reads it at 32 bits) gets back the same float.
func (r *chunkReader) selectList() string {
	sel := make([]string, len(r.cols))
	for i, c := range r.cols {
		sel[i] = c
		if i < len(r.t.Columns) && r.t.Columns[i].DataType == "float" {
			sel[i] = "(" + c + " + 0e0)"
		}
	}
	return strings.Join(sel, ", ")
}

// filtered joins the where filter to a condition.
func (r *chunkReader) filtered(cond string) string {
	switch {
	case r.where == "" && cond == "":
		return ""
	case r.where == "":
		return " WHERE " + cond
	case cond == "":
		return " WHERE " + r.where
	}
	return " WHERE " + r.where + " AND (" + cond + ")"
}

// byKey reads the table in key order after key after, r.size rows a query,
// and sends them in chunks bounded by keys: each chunk's Lo is the Hi of
// the one before.
func (r *chunkReader) byKey(ctx context.Context, after change.Row) error {
	keyCols := make([]string, len(r.t.Key))
	for i, k := range r.t.Key {
		keyCols[i] = r.cols[k]
	}
	base := "SELECT " + r.selectList() + " FROM " + r.from
	order := " ORDER BY " + strings.Join(keyCols, ", ") + " LIMIT " + strconv.Itoa(r.size)
	for {
		q, args := base+r.filtered("")+order, []any(nil)
		if after != nil {
			cond, wargs := afterKey(keyCols, after)
			q, args = base+r.filtered(cond)+order, wargs
		}
		n, err := r.stream(ctx, q, args, func(chunk change.PackedRows, hi change.Row) error {
			if err := r.send(ctx, chunk, after, hi); err != nil {
				return err
			}
			after = hi
			return nil
		})
		if err != nil || n < r.size {
			return err
		}
	}
}

// afterKey is the condition "key > after" spelled out column by column,
// which every server plans as a range on the key.
func afterKey(cols []string, after change.Row) (string, []any) {
	var ors []string
	var args []any
	for i := range cols {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, cols[j]+" = ?")
			args = append(args, after[j])
		}
		ands = append(ands, cols[i]+" > ?")
		args = append(args, after[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return strings.Join(ors, " OR "), args
}

// whole reads a table without a key in one query, sent in chunks.
func (r *chunkReader) whole(ctx context.Context) error {
	_, err := r.stream(ctx, "SELECT "+r.selectList()+" FROM "+r.from+r.filtered(""), nil,
		func(chunk change.PackedRows, _ change.Row) error { return r.send(ctx, chunk, nil, nil) })
	return err
}

// stream runs a query and hands its rows to emit in chunks of at most
// r.size rows and about maxChunkBytes (a message must stay under the
// transport's limit however wide the rows), with the key of each chunk's
// last row; it returns how many rows it read. Rows come in the text
// protocol and are packed as they arrive, each column as kindOf says.
func (r *chunkReader) stream(ctx context.Context, q string, args []any, emit func(change.PackedRows, change.Row) error) (int, error) {
	rows, err := r.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", r.from, err)
	}
	defer func() { _ = rows.Close() }()
	raw := make([]sql.RawBytes, len(r.t.Columns))
	dest := make([]any, len(raw))
	for i := range raw {
		dest[i] = &raw[i]
	}
	p := &r.p
	if p.Size() > 0 {
		p.Take() // a failed query's rows, not sent
	}
	lastRow := 0 // where the last row packed starts
	flush := func() error {
		chunk := p.Take()
		// The chunk's Hi is its last row's key, as the destination will read it.
		last, err := change.PackedRows{N: 1, Data: chunk.Data[lastRow:]}.Unpack()
		if err != nil {
			return err
		}
		hi := make(change.Row, len(r.t.Key))
		for i, k := range r.t.Key {
			hi[i] = last[0][k]
		}
		return emit(chunk, hi)
	}
	n, inChunk := 0, 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, fmt.Errorf("read %s: %w", r.from, err)
		}
		lastRow = p.Size()
		p.Row(len(raw))
		for i, b := range raw {
			pack(p, r.kinds[i], b)
		}
		n++
		if inChunk++; inChunk >= r.size || p.Size() >= maxChunkBytes {
			if err := flush(); err != nil {
				return n, err
			}
			inChunk = 0
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read %s: %w", r.from, err)
	}
	if inChunk > 0 {
		return n, flush()
	}
	return n, nil
}

// packKind is how a column's text-protocol values are packed.
type packKind byte

const (
	packText   packKind = iota
	packBytes           // binary strings, BIT
	packYear            // YEAR: as a number, its zero in four digits
	packNumber          // integers and decimals, written unquoted
)

// kindOf is how column c is packed.
func kindOf(c *change.Column) packKind {
	switch {
	case c.Binary:
		return packBytes
	case c.DataType == "year":
		return packYear
	case change.NumericType(c.DataType):
		return packNumber
	}
	return packText
}

// pack appends one column of a scanned row.
func pack(p *change.RowPacker, k packKind, b sql.RawBytes) {
	switch {
	case b == nil:
		p.Null()
	case k == packBytes:
		p.Bytes(b)
	case k == packNumber:
		p.Number(b)
	case k == packYear && string(b) == "0":
		// The server writes year zero as "0", which as text (a quoted
		// literal, a LOAD DATA field) means 2000.
		p.Number([]byte("0000"))
	case k == packYear:
		p.Number(b)
	default:
		p.Text(b)
	}
}

// send sends one chunk, bounded by keys lo and hi (nil for a table read
// whole), and counts its rows as read.
func (r *chunkReader) send(ctx context.Context, rows change.PackedRows, lo, hi change.Row) error {
	err := r.e.cfg.Sender.Send(ctx, &change.Message{Kind: change.KindChunk, Flavor: r.e.flavor, Table: r.t,
		Rows: rows, Lo: lo, Hi: hi})
	r.e.Stats.RowsRead.Add(int64(rows.N))
	r.e.Stats.TableRows(r.t.Schema, r.t.Name, int64(rows.N))
	return err
}
