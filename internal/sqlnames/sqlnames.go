// Package sqlnames reads the names a SQL statement holds without parsing
// it: for statements TiDB's parser cannot read (MariaDB's own syntax, some
// character sets), so that they never reach a destination past the schema
// rules. Strings, comments and numbers are skipped; executable comments are
// read as the statement they hold.
package sqlnames

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// sqlToken is an identifier (unquoted or backquoted, unescaped) or a dot.
type sqlToken struct {
	text   string
	quoted bool
	dot    bool
	comma  bool
}

// scanNames returns the identifiers and dots of a statement, skipping
// strings, comments, numbers and other punctuation.
func scanNames(sql string) []sqlToken {
	var out []sqlToken
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			i = skipQuoted(sql, i, c, true)
		case c == '`':
			end := skipQuoted(sql, i, '`', false)
			name := strings.ReplaceAll(sql[i+1:max(end-1, i+1)], "``", "`")
			out = append(out, sqlToken{text: name, quoted: true})
			i = end
		case c == '#' || (c == '-' && strings.HasPrefix(sql[i:], "-- ")):
			if end := strings.IndexByte(sql[i:], '\n'); end >= 0 {
				i += end + 1
			} else {
				i = len(sql)
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			if strings.HasPrefix(sql[i:], "/*!") || strings.HasPrefix(sql[i:], "/*M!") {
				i += 3 // executable comment: its text is part of the statement
				for i < len(sql) && sql[i] >= '0' && sql[i] <= '9' {
					i++
				}
				continue
			}
			if end := strings.Index(sql[i+2:], "*/"); end >= 0 {
				i += end + 4
			} else {
				i = len(sql)
			}
		case c == '.':
			out = append(out, sqlToken{dot: true})
			i++
		case c == ',':
			out = append(out, sqlToken{comma: true})
			i++
		case c >= '0' && c <= '9':
			for i < len(sql) && identByte(sql[i]) {
				i++ // a number (an identifier made of digits must be quoted)
			}
		case identByte(c):
			start := i
			for i < len(sql) && identByte(sql[i]) {
				i++
			}
			out = append(out, sqlToken{text: sql[start:i]})
		default:
			_, n := utf8.DecodeRuneInString(sql[i:])
			i += n
		}
	}
	return out
}

// identByte reports whether c may be part of an unquoted identifier.
func identByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// skipQuoted returns the index after the quoted text starting at i: a
// doubled quote stays inside, and so does one after a backslash when
// backslash escapes apply.
func skipQuoted(sql string, i int, q byte, backslash bool) int {
	for j := i + 1; j < len(sql); j++ {
		switch {
		case backslash && sql[j] == '\\':
			j++
		case sql[j] == q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(sql)
}

// QualifiedSchemas lists the schemas of the schema.table names a statement
// holds where a table stands (after TABLE, FROM, JOIN, LIKE, REFERENCES,
// INTO, TO, or in the comma list after TABLE), each once, in order:
// alias.column elsewhere is not one.
func QualifiedSchemas(sql string) []string {
	toks := scanNames(sql)
	var out []string
	intro, inList := false, false // a table stands next; in TABLE's list
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.comma:
			intro = inList
			continue
		case t.dot:
			continue
		case !t.quoted && tableKeywords[strings.ToUpper(t.text)]:
			intro = true
			inList = strings.EqualFold(t.text, "TABLE") || strings.EqualFold(t.text, "TABLES")
			continue
		case intro && !t.quoted && ifNotExists[strings.ToUpper(t.text)]:
			continue
		case !intro:
			inList = false
			continue
		}
		intro = false // this name is the table
		if i+2 < len(toks) && toks[i+1].dot && !toks[i+2].dot && !toks[i+2].comma {
			if !slices.Contains(out, t.text) {
				out = append(out, t.text)
			}
			i += 2
		}
	}
	return out
}

// tableKeywords are the words a table name follows.
var tableKeywords = map[string]bool{"TABLE": true, "TABLES": true, "FROM": true, "JOIN": true, "LIKE": true,
	"REFERENCES": true, "INTO": true, "TO": true}

var ifNotExists = map[string]bool{"IF": true, "NOT": true, "EXISTS": true}

// TargetOf reads the first name after keyword (TABLE, DATABASE, ...) and
// any IF [NOT] EXISTS: its schema ("" when unqualified) and name; all ""
// when there is none.
func TargetOf(sql, keyword string) (schema, name string) {
	toks := scanNames(sql)
	for i, t := range toks {
		if t.quoted || !strings.EqualFold(t.text, keyword) {
			continue
		}
		rest := toks[i+1:]
		for len(rest) > 0 && !rest[0].quoted && !rest[0].dot && ifNotExists[strings.ToUpper(rest[0].text)] {
			rest = rest[1:]
		}
		switch {
		case len(rest) >= 3 && !rest[0].dot && rest[1].dot && !rest[2].dot:
			return rest[0].text, rest[2].text
		case len(rest) >= 1 && !rest[0].dot:
			return "", rest[0].text
		}
		return "", ""
	}
	return "", ""
}

// SchemaOfDatabaseDDL reads the name of a CREATE/ALTER/DROP DATABASE (or
// SCHEMA) statement; "" when there is none.
func SchemaOfDatabaseDDL(sql string) string {
	for _, kw := range []string{"DATABASE", "SCHEMA"} {
		if qual, name := TargetOf(sql, kw); qual == "" && name != "" {
			return name
		}
	}
	return ""
}
