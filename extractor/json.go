package extractor

import (
	"bytes"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// jsonColumns marks the columns of a table map that are MySQL JSON (binary
// in the binlog, decoded to text by go-mysql); nil when there are none.
// MariaDB's JSON is text and is not marked.
func jsonColumns(t *replication.TableMapEvent) []bool {
	if t == nil {
		return nil
	}
	var js []bool
	for i, typ := range t.ColumnType {
		if typ != gomysql.MYSQL_TYPE_JSON {
			continue
		}
		if js == nil {
			js = make([]bool, len(t.ColumnType))
		}
		js[i] = true
	}
	return js
}

// htmlEscapes are what go-mysql's JSON encoder writes for characters
// MySQL writes as they are: <, >, &, U+2028 and U+2029.
var htmlEscapes = map[string]string{
	`\u003c`: "<", `\u003e`: ">", `\u0026`: "&", `\u2028`: "\u2028", `\u2029`: "\u2029",
}

// jsonText is a JSON document as MySQL writes it: go-mysql renders MySQL's
// binary JSON with the keys in their stored order and numbers as stored,
// but escapes <, >, & (and U+2028, U+2029) inside strings as \u00XX, which
// MySQL does not. Other escapes stay: they are MySQL's too.
func jsonText(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\u`)) {
		return b
	}
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(b):
			if i+6 <= len(b) {
				if lit, ok := htmlEscapes[string(b[i:i+6])]; ok {
					out = append(out, lit...)
					i += 5
					continue
				}
			}
			out = append(out, c, b[i+1]) // an escape pair: \\ or \" is not the end of anything
			i++
			continue
		}
		out = append(out, c)
	}
	return out
}
