package kafka

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// TiDB's parser knows no spatial type: a CREATE or ALTER TABLE with a
// spatial column, or a SPATIAL KEY, does not parse. Such a statement is
// parsed once more with each spatial column type read as LONGBLOB and
// the spatial attributes dropped; the columns then get their kind back.

// spatialKinds are the spatial column types.
var spatialKinds = map[string]bool{
	"geometry": true, "point": true, "linestring": true, "polygon": true, "multipoint": true,
	"multilinestring": true, "multipolygon": true, "geometrycollection": true, "geomcollection": true,
}

// parseDDL parses one statement; hints gives, by lower-case column name,
// the kind of each spatial column it defines and the types it writes
// that the parser reads as others (see declaredTypes); nil for none.
func parseDDL(sql string) (st ast.StmtNode, hints map[string]string, err error) {
	if st, err = parseOne(sql); err == nil {
		return st, declaredTypes(sql, nil), nil
	}
	text, spatial := withoutSpatial(sql)
	if spatial == nil && text == sql {
		return nil, nil, err
	}
	st, err2 := parseOne(text)
	if err2 != nil {
		return nil, nil, err // the parser's word on the statement as written
	}
	return st, declaredTypes(sql, spatial), nil
}

// markSpatial gives the columns a spatial statement defined their kind.
func (d *tableDef) markSpatial(spatial map[string]string) {
	for i := range d.Columns {
		c := &d.Columns[i]
		if kind, ok := spatial[strings.ToLower(c.Name)]; ok && spatialKinds[kind] && c.Kind == "longblob" {
			c.Kind, c.Type, c.Length, c.Charset = kind, kind, 0, "binary"
			c.HasDefault, c.Default = false, nil
		}
	}
}

// sqlWord is a token of withoutSpatial's scan: a bare word, a quoted name,
// or one character of punctuation.
type sqlWord struct {
	start, end int
	text       string // a word's text, lower case; a quoted name unquoted
	bare       bool
	quoted     bool
}

// withoutSpatial rewrites a statement for TiDB's parser: a spatial type
// after a column name becomes LONGBLOB, SPATIAL before KEY or INDEX goes,
// as do MariaDB's REF_SYSTEM_ID [=] n and MySQL's SRID n. It returns the
// text and the spatial columns' kinds by lower-case name (nil for none).
func withoutSpatial(sql string) (string, map[string]string) {
	words := scanSQL(sql)
	var b strings.Builder
	var spatial map[string]string
	last := 0
	replace := func(from, to int, with string) {
		b.WriteString(sql[last:from])
		b.WriteString(with)
		last = to
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !w.bare {
			continue
		}
		next := func(k int) sqlWord {
			if i+k < len(words) {
				return words[i+k]
			}
			return sqlWord{}
		}
		switch {
		case spatialKinds[w.text] && i > 0 && (words[i-1].bare || words[i-1].quoted) && next(1).text != "(":
			if spatial == nil {
				spatial = map[string]string{}
			}
			spatial[strings.ToLower(words[i-1].text)] = w.text
			replace(w.start, w.end, "LONGBLOB")
		case w.text == "spatial" && (next(1).text == "key" || next(1).text == "index"):
			replace(w.start, w.end, "")
		case w.text == "ref_system_id" && next(1).text == "=" && isDigits(next(2).text):
			replace(w.start, next(2).end, "")
			i += 2
		case (w.text == "ref_system_id" || w.text == "srid") && isDigits(next(1).text):
			replace(w.start, next(1).end, "")
			i++
		}
	}
	b.WriteString(sql[last:])
	return b.String(), spatial
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// scanSQL splits a statement into words, quoted names and punctuation,
// skipping strings and comments.
func scanSQL(sql string) []sqlWord {
	var out []sqlWord
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			i = skipQuote(sql, i, c, true)
		case c == '`':
			end := skipQuote(sql, i, '`', false)
			name := strings.ReplaceAll(sql[i+1:max(end-1, i+1)], "``", "`")
			out = append(out, sqlWord{start: i, end: end, text: name, quoted: true})
			i = end
		case c == '#' || strings.HasPrefix(sql[i:], "-- "):
			if n := strings.IndexByte(sql[i:], '\n'); n >= 0 {
				i += n + 1
			} else {
				i = len(sql)
			}
		case strings.HasPrefix(sql[i:], "/*"):
			if n := strings.Index(sql[i+2:], "*/"); n >= 0 {
				i += n + 4
			} else {
				i = len(sql)
			}
		case isWordByte(c):
			j := i
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			out = append(out, sqlWord{start: i, end: j, text: strings.ToLower(sql[i:j]), bare: true})
			i = j
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			out = append(out, sqlWord{start: i, end: i + 1, text: sql[i : i+1]})
			i++
		}
	}
	return out
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// skipQuote returns the index after the quoted text starting at i; a
// doubled quote, or with backslashes a backslash, escapes.
func skipQuote(sql string, i int, q byte, backslash bool) int {
	for j := i + 1; j < len(sql); j++ {
		switch {
		case backslash && sql[j] == '\\':
			j++
		case sql[j] == q && j+1 < len(sql) && sql[j+1] == q:
			j++
		case sql[j] == q:
			return j + 1
		}
	}
	return len(sql)
}
