package kafka

import "strings"

// Debezium's DDL parser keeps a column's type as the statement writes it.
// A few words are types of their own to it where the server, and TiDB's
// parser, take them for others: BOOLEAN and BOOL (TINYINT(1)), REAL
// (DOUBLE) and NUMERIC (DECIMAL). Such a column is then a BOOLEAN with a
// boolean schema, a REAL with a float schema, and its tableChanges entry
// says so. A table read with SHOW CREATE TABLE has none of these words.

// declaredKinds maps each such word to the kind TiDB's parser gives the
// column.
var declaredKinds = map[string]string{
	"boolean": "tinyint", "bool": "tinyint", "real": "double", "numeric": "decimal",
}

// declaredTypes adds to hints (which may be nil) the declared type of
// each column whose type is one of declaredKinds' words, by lower-case
// column name: the word that follows a column's name.
func declaredTypes(sql string, hints map[string]string) map[string]string {
	lower := strings.ToLower(sql)
	if !strings.Contains(lower, "bool") && !strings.Contains(lower, "real") && !strings.Contains(lower, "numeric") {
		return hints
	}
	words := scanSQL(sql)
	for i := 1; i < len(words); i++ {
		w, prev := words[i], words[i-1]
		if _, ok := declaredKinds[w.text]; !ok || !w.bare || !prev.bare && !prev.quoted {
			continue
		}
		if hints == nil {
			hints = map[string]string{}
		}
		hints[strings.ToLower(prev.text)] = w.text
	}
	return hints
}

// markHints applies what parseDDL found: spatial kinds and declared types.
func (d *tableDef) markHints(hints map[string]string) {
	if hints == nil {
		return
	}
	d.markSpatial(hints)
	for i := range d.Columns {
		c := &d.Columns[i]
		if word, ok := hints[strings.ToLower(c.Name)]; ok && declaredKinds[word] == c.Kind {
			c.Declared = strings.ToUpper(word)
		}
	}
}

// isBoolean: the column was declared BOOLEAN or BOOL.
func (c *colDef) isBoolean() bool { return c.Declared == "BOOLEAN" || c.Declared == "BOOL" }
