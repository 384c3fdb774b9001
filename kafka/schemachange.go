package kafka

import (
	"cmp"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/dtle-io/dtle/internal/change"
)

const schemaChangeKeyHead = `{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"databaseName"}],` +
	`"optional":false,"name":"io.debezium.connector.mysql.SchemaChangeKey","version":1},"payload":`

const columnSchema = `{"type":"struct","fields":[` +
	`{"type":"string","optional":false,"field":"name"},{"type":"int32","optional":false,"field":"jdbcType"},` +
	`{"type":"int32","optional":true,"field":"nativeType"},{"type":"string","optional":false,"field":"typeName"},` +
	`{"type":"string","optional":true,"field":"typeExpression"},{"type":"string","optional":true,"field":"charsetName"},` +
	`{"type":"int32","optional":true,"field":"length"},{"type":"int32","optional":true,"field":"scale"},` +
	`{"type":"int32","optional":false,"field":"position"},{"type":"boolean","optional":true,"field":"optional"},` +
	`{"type":"boolean","optional":true,"field":"autoIncremented"},{"type":"boolean","optional":true,"field":"generated"},` +
	`{"type":"string","optional":true,"field":"comment"},{"type":"string","optional":true,"field":"defaultValueExpression"},` +
	`{"type":"array","items":{"type":"string","optional":false},"optional":true,"field":"enumValues"}],` +
	`"optional":false,"name":"io.debezium.connector.schema.Column","version":1}`

const schemaChangeValueHead = `{"schema":{"type":"struct","fields":[` + sourceSchema + `,` +
	`{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"field":"databaseName"},` +
	`{"type":"string","optional":true,"field":"schemaName"},{"type":"string","optional":true,"field":"ddl"},` +
	`{"type":"array","items":{"type":"struct","fields":[{"type":"string","optional":false,"field":"type"},` +
	`{"type":"string","optional":false,"field":"id"},{"type":"struct","fields":[` +
	`{"type":"string","optional":true,"field":"defaultCharsetName"},` +
	`{"type":"array","items":{"type":"string","optional":false},"optional":true,"field":"primaryKeyColumnNames"},` +
	`{"type":"array","items":` + columnSchema + `,"optional":false,"field":"columns"},` +
	`{"type":"string","optional":true,"field":"comment"}],` +
	`"optional":true,"name":"io.debezium.connector.schema.Table","version":1,"field":"table"}],` +
	`"optional":false,"name":"io.debezium.connector.schema.Change","version":1},"optional":false,"field":"tableChanges"}],` +
	`"optional":false,"name":"io.debezium.connector.mysql.SchemaChangeValue","version":1},"payload":`

// tableChange is one entry of tableChanges; Table is nil for a drop.
type tableChange struct {
	Type  string        `json:"type"`
	ID    string        `json:"id"`
	Table *changedTable `json:"table"`
}

type changedTable struct {
	DefaultCharsetName    *string         `json:"defaultCharsetName"`
	PrimaryKeyColumnNames []string        `json:"primaryKeyColumnNames"`
	Columns               []changedColumn `json:"columns"`
	Comment               *string         `json:"comment"`
}

type changedColumn struct {
	Name                   string   `json:"name"`
	JdbcType               int      `json:"jdbcType"`
	NativeType             *int     `json:"nativeType"`
	TypeName               string   `json:"typeName"`
	TypeExpression         string   `json:"typeExpression"`
	CharsetName            *string  `json:"charsetName"`
	Length                 *int     `json:"length"`
	Scale                  *int     `json:"scale"`
	Position               int      `json:"position"`
	Optional               bool     `json:"optional"`
	AutoIncremented        bool     `json:"autoIncremented"`
	Generated              bool     `json:"generated"`
	Comment                *string  `json:"comment"`
	DefaultValueExpression *string  `json:"defaultValueExpression"`
	EnumValues             []string `json:"enumValues"`
}

// jdbcTypes are java.sql.Types codes, as Debezium's DDL parser reports
// column types (its MySQL data type table): FLOAT is Types.FLOAT, REAL
// Types.REAL, every BLOB Types.BLOB, BOOLEAN Types.BOOLEAN; others, the
// spatial types among them, Types.OTHER.
var jdbcTypes = map[string]int{
	"bit": -7, "tinyint": 5, "smallint": 5, "mediumint": 4, "int": 4, "integer": 4, "bigint": -5,
	"float": 6, "double": 8, "real": 7, "decimal": 3, "numeric": 2, "boolean": 16, "bool": 16,
	"char": 1, "varchar": 12, "tinytext": 12, "text": 12, "mediumtext": 12, "longtext": 12,
	"binary": -2, "varbinary": -3, "tinyblob": 2004, "blob": 2004, "mediumblob": 2004, "longblob": 2004,
	"date": 91, "time": 92, "datetime": 93, "timestamp": 2014, "year": 4,
	"enum": 1, "set": 1, "json": 1111,
}

// dimensions are the length and scale Debezium reports for a column:
// those its type is written with (a TIME, DATETIME or TIMESTAMP's
// fractional digits are its length), DECIMAL's (10,0) when it has none,
// and none for a BOOLEAN.
func dimensions(c *colDef) (length, scale *int) {
	ptr := func(n int) *int { return &n }
	switch {
	case c.isBoolean():
		return nil, nil
	case c.Kind == "decimal" || c.Kind == "numeric":
		return ptr(max(c.Length, 1)), ptr(c.Scale)
	case c.Kind == "time" || c.Kind == "datetime" || c.Kind == "timestamp":
		if c.Scale > 0 {
			return ptr(c.Scale), nil
		}
		return nil, nil
	case c.Kind == "float" || c.Kind == "double":
		if c.Length > 0 {
			length = ptr(c.Length)
		}
		if c.ScaleSet || c.Scale > 0 {
			scale = ptr(c.Scale)
		}
		return length, scale
	}
	if c.Length > 0 {
		length = ptr(c.Length)
	}
	if c.Scale > 0 {
		scale = ptr(c.Scale)
	}
	return length, scale
}

// quotedID is a table's id in schema-change events, "db"."table"; it is
// also the key of the table's record in the job's schemas topic, where,
// unlike db.table, it cannot be the same for two tables.
func quotedID(n change.TableName) string {
	return strconv.Quote(n.Schema) + "." + strconv.Quote(n.Table)
}

func describe(kind string, id change.TableName, d *tableDef) tableChange {
	tc := tableChange{Type: kind, ID: quotedID(id)}
	if d == nil {
		return tc
	}
	t := &changedTable{PrimaryKeyColumnNames: append([]string{}, d.Key...), Columns: []changedColumn{}}
	if d.Charset != "" {
		t.DefaultCharsetName = &d.Charset
	}
	for i := range d.Columns {
		c := &d.Columns[i]
		typ := cmp.Or(c.Declared, strings.ToUpper(c.Kind)) // BOOLEAN, REAL: as the DDL wrote it
		cc := changedColumn{Name: c.Name, JdbcType: jdbcTypes[strings.ToLower(typ)], TypeName: typ, TypeExpression: typ,
			Position: i + 1, Optional: c.Nullable, AutoIncremented: c.AutoInc, Generated: c.AutoInc}
		if cc.JdbcType == 0 {
			cc.JdbcType = 1111
		}
		if c.Unsigned {
			cc.TypeName += " UNSIGNED"
			cc.TypeExpression = cc.TypeName
		}
		if c.Charset != "" && c.Charset != "binary" {
			cs := c.Charset
			cc.CharsetName = &cs
		}
		cc.Length, cc.Scale = dimensions(c)
		for _, e := range c.Elems {
			cc.EnumValues = append(cc.EnumValues, "'"+strings.ReplaceAll(e, "'", "''")+"'")
		}
		t.Columns = append(t.Columns, cc)
	}
	tc.Table = t
	return tc
}

// schemaChange builds the key and value of a schema-change event.
func schemaChange(prefix, db, ddl string, changes []tableChange, o *origin, now time.Time) (key, value []byte) {
	key = append([]byte(schemaChangeKeyHead+`{"databaseName":`), appendJSONString(nil, db)...)
	key = append(key, "}}"...)
	v := []byte(schemaChangeValueHead + `{"source":`)
	v = appendSource(v, prefix, db, o.tables, o)
	v = append(v, `,"ts_ms":`...)
	v = strconv.AppendInt(v, now.UnixMilli(), 10)
	v = append(v, `,"databaseName":`...)
	v = appendJSONString(v, db)
	v = append(v, `,"schemaName":null,"ddl":`...)
	v = appendJSONString(v, ddl)
	if changes == nil {
		changes = []tableChange{}
	}
	tc, _ := json.Marshal(changes) // plain strings, ints and slices: cannot fail
	v = append(v, `,"tableChanges":`...)
	v = append(v, tc...)
	return key, append(v, "}}"...)
}
