package applier

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// Full-copy chunks go to the destination as LOAD DATA LOCAL INFILE where
// the destination allows it, and as multi-row INSERT otherwise. The server
// reads a tab-separated stream instead of parsing a statement with a literal
// per value: about a third less of its CPU per row, which is where a copy
// spends most of its time.
//
// LOAD DATA is used for a table when:
//   - the destination has local_infile on (MariaDB's default; MySQL 8 turns
//     it off, and a refusal switches the job to INSERT);
//   - the table has no AUTO_INCREMENT column, or innodb_autoinc_lock_mode is
//     2 (MySQL 8's default). Under modes 0 and 1 InnoDB holds the table's
//     AUTO-INC lock for a whole LOAD DATA statement, so the chunk writers
//     would take turns, which is slower than INSERT on several connections;
//   - every written column has a type whose text form the server reads back
//     exactly (spatial types and MariaDB's INET4/INET6/UUID do not qualify).
//
// The stream is read as CHARACTER SET binary, so no byte of a value is ever
// taken for a separator by a charset decoder. Text columns whose charset
// holds the connection's bytes as they are take them directly; the others
// go through a user variable and CONVERT, as a literal in the connection's
// charset would.

// loadTypes are the DATA_TYPEs the stream may carry.
var loadTypes = map[string]bool{
	"tinyint": true, "smallint": true, "mediumint": true, "int": true, "integer": true, "bigint": true,
	"decimal": true, "float": true, "double": true,
	"char": true, "varchar": true, "tinytext": true, "text": true, "mediumtext": true, "longtext": true,
	"binary": true, "varbinary": true, "tinyblob": true, "blob": true, "mediumblob": true, "longblob": true,
	"bit": true, "date": true, "time": true, "datetime": true, "timestamp": true, "year": true,
	"enum": true, "set": true, "json": true,
}

// loadSupport is what the destination allows, read once per applier.
type loadSupport struct {
	localInfile bool
	// autoIncFree: innodb_autoinc_lock_mode = 2, no table lock for LOAD DATA.
	autoIncFree bool
	charset     string // the connection's character_set_client
}

// probeLoad reads the destination's settings; an error leaves LOAD DATA off.
func (c *copier) probeLoad(ctx context.Context, conn *sql.Conn) loadSupport {
	var s loadSupport
	var mode int
	err := conn.QueryRowContext(ctx, "SELECT @@GLOBAL.local_infile, @@GLOBAL.innodb_autoinc_lock_mode, @@SESSION.character_set_client").
		Scan(&s.localInfile, &mode, &s.charset)
	if err != nil {
		c.log.Debug("full copy writes INSERT: no LOAD DATA settings", "error", err)
		return loadSupport{}
	}
	s.autoIncFree = mode == 2
	return s
}

// loadPlan is how one table's chunks are loaded.
type loadPlan struct {
	// into follows the file name: "INTO TABLE ... (columns) SET ...".
	into string
}

// planLoad returns the table's plan, or nil when its chunks go as INSERT,
// read on the listener's session.
func (c *copier) planLoad(ctx context.Context, t *change.Table) (*loadPlan, error) {
	return c.planLoadOn(ctx, c.conn, t)
}

// planLoadOn is planLoad on conn; the destination's support is read once,
// by the first caller.
func (c *copier) planLoadOn(ctx context.Context, conn *sql.Conn, t *change.Table) (*loadPlan, error) {
	c.loadOnce.Do(func() {
		if c.load == nil {
			s := c.probeLoad(ctx, conn)
			c.load = &s
		}
	})
	if !c.load.localInfile || c.loadRefused.Load() {
		return nil, nil
	}
	// What the server converts to is the destination's column, which may
	// differ from the source's (skip_create_db_table, an existing table).
	dt, err := c.tables.get(ctx, conn, t.TableName())
	if err != nil {
		return nil, &ApplyError{What: fmt.Sprintf("read the columns of %s.%s", t.Schema, t.Name), Err: err}
	}
	byName := map[string]*change.Column{}
	for i := range dt.Columns {
		byName[strings.ToLower(dt.Columns[i].Name)] = &dt.Columns[i]
	}
	into := make([]*change.Column, len(t.Columns))
	for i, col := range t.Columns {
		if col.Generated {
			continue
		}
		d := byName[strings.ToLower(col.Name)]
		if d == nil || !loadTypes[col.DataType] || !loadTypes[d.DataType] {
			return nil, nil
		}
		into[i] = d
	}
	if !c.load.autoIncFree {
		for _, col := range dt.Columns {
			if col.AutoIncrement {
				return nil, nil
			}
		}
	}
	return &loadPlan{into: loadInto(t, into, c.load.charset)}, nil
}

// loadInto renders the part of the statement after the file name; dest
// are the destination's columns, by the index of t's (nil: generated).
func loadInto(t *change.Table, dest []*change.Column, charset string) string {
	var cols, set []string
	for i, c := range t.Columns {
		if c.Generated {
			continue
		}
		name := tableinfo.Quote(c.Name)
		if !needsConvert(dest[i], charset) {
			cols = append(cols, name)
			continue
		}
		v := "@v" + strconv.Itoa(i)
		cols = append(cols, v)
		set = append(set, name+" = CONVERT("+v+" USING "+charset+")")
	}
	q := " INTO TABLE " + tableinfo.QuoteName(t.Schema, t.Name) +
		` CHARACTER SET binary FIELDS TERMINATED BY '\t' ENCLOSED BY '' ESCAPED BY '\\' LINES TERMINATED BY '\n' STARTING BY ''` +
		" (" + strings.Join(cols, ", ") + ")"
	if len(set) > 0 {
		q += " SET " + strings.Join(set, ", ")
	}
	return q
}

// needsConvert reports whether a column's value, bytes in the connection's
// charset, must be converted rather than stored as they are.
func needsConvert(c *change.Column, charset string) bool {
	switch {
	case c.DataType == "json":
		return true // MySQL refuses JSON text labelled binary
	case c.Binary || c.Charset == "" || c.Charset == charset:
		return false
	case charset == "utf8mb4":
		// Their values are the same bytes in utf8mb4.
		return c.Charset != "utf8mb3" && c.Charset != "utf8" && c.Charset != "ascii"
	}
	return true
}

// statement is the LOAD DATA statement reading file name.
func (p *loadPlan) statement(name string, replace bool) string {
	q := "LOAD DATA LOCAL INFILE 'Reader::" + name + "'"
	if replace {
		q += " REPLACE"
	}
	return q + p.into
}

// loadEscapes maps each byte that needs a backslash in a field of the
// stream to the letter after it; ESCAPED BY '\\' reads them back.
var loadEscapes = [256]byte{0: '0', '\t': 't', '\n': 'n', '\r': 'r', 0x1a: 'Z', '\\': '\\'}

// packedLoad renders packed rows as the stream loadInto describes: fields
// split by tabs, rows ended by newlines, NULL as \N.
func packedLoad(t *change.Table, rows change.PackedRows) ([]byte, error) {
	b := make([]byte, 0, len(rows.Data)+len(rows.Data)/8+8*rows.N)
	err := walkWritten(t, rows, func() {}, func(_ int, first bool, x *change.Value) {
		if !first {
			b = append(b, '\t')
		}
		b = appendField(b, x)
	}, func() { b = append(b, '\n') })
	if err != nil {
		return nil, err
	}
	return b, nil
}

func appendField(b []byte, x *change.Value) []byte {
	if out, ok := appendNumeric(b, x); ok {
		return out
	}
	if x.Kind == change.ValueNull {
		return append(b, `\N`...)
	}
	return appendEscaped(b, x.Raw, &loadEscapes)
}

// loadSource is a chunk writer's stream for LOAD DATA LOCAL INFILE: a
// reader registered with the driver under a name no one can guess, serving
// the chunk being written.
type loadSource struct {
	name string
	data []byte
}

func newLoadSource() *loadSource {
	var id [12]byte
	_, _ = rand.Read(id[:])
	s := &loadSource{name: "dtle-" + hex.EncodeToString(id[:])}
	mysql.RegisterReaderHandler(s.name, func() io.Reader { return bytes.NewReader(s.data) })
	return s
}

func (s *loadSource) close() { mysql.DeregisterReaderHandler(s.name) }

// Error codes of a server that refuses LOAD DATA LOCAL.
const (
	erNotAllowedCommand       = 1148 // MySQL 5.7, older MariaDB
	erClientLocalFilesDisable = 3948 // MySQL 8
	erLoadInfileDisabled      = 4166 // MariaDB 10.5 and later
)

// loadRefused reports whether err is the destination refusing LOAD DATA LOCAL.
func loadRefused(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case erNotAllowedCommand, erClientLocalFilesDisable, erLoadInfileDisabled:
		return true
	}
	return false
}
