package applier

import (
	"context"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
)

// An indexID names one unique index of a table: its number in the table's
// Uniques, or wholeTable for a table without a unique index.
type indexID struct {
	table change.TableName
	n     int
}

// wholeTable is the indexID number of a table written whole.
const wholeTable = -1

// A writeKey is what a change writes in one unique index: the index's
// values in a row, or the whole index where Go cannot tell which values the
// index holds equal. A table without a unique index is written whole.
type writeKey struct {
	index indexID
	value string // the folded values, when not whole
	whole bool
}

// writeset lists the keys t writes, reading table definitions through
// tables and q: per unique index of each row image, its values folded so
// that values the index's collation may hold equal fold alike (see
// uniqueKey).
func writeset(ctx context.Context, tables *tableCache, q querier, t *change.Txn) ([]writeKey, error) {
	var keys []writeKey
	for i := range t.Changes {
		c := &t.Changes[i]
		tb, err := tables.get(ctx, q, c.Name())
		if err != nil {
			return nil, err
		}
		if !tb.HasKey() {
			// Rows are matched by every column, and a row whose unique
			// values are NULL has no other key: the table is written whole.
			keys = append(keys, writeKey{index: indexID{c.Name(), wholeTable}, whole: true})
			continue
		}
		for _, row := range []change.Row{c.Before, c.After} {
			if row == nil {
				continue
			}
			for ui, cols := range tb.Uniques {
				if k, ok := uniqueKey(tb, indexID{c.Name(), ui}, cols, row); ok {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys, nil
}

// uniqueKey folds one unique index's values of a row; a NULL part means
// the row takes no part in that index's uniqueness. Text is compared by a
// collation Go does not have, so it is folded only where that is known to
// be safe: printable ASCII under a collation of asciiFoldable, lower-cased,
// trailing spaces dropped (PAD SPACE). Any other text, and an index with a
// prefix or functional part (no columns), makes the key the whole index.
// Binary strings lose trailing zero bytes (BINARY pads with them); -0.0 is
// 0. Folding may only merge values: a false conflict costs parallelism, a
// missed one correctness.
func uniqueKey(tb *change.Table, index indexID, cols []int, row change.Row) (writeKey, bool) {
	if len(cols) == 0 {
		return writeKey{index: index, whole: true}, true
	}
	var b strings.Builder
	for _, c := range cols {
		if c >= len(row) || row[c] == nil {
			return writeKey{}, false
		}
		b.WriteString("\x00")
		var s string
		switch v := row[c].(type) {
		case []byte:
			s = string(v)
		case string:
			s = v
		case float32:
			fmt.Fprint(&b, v+0) // -0 is 0 in an index
			continue
		case float64:
			fmt.Fprint(&b, v+0)
			continue
		default:
			fmt.Fprint(&b, v)
			continue
		}
		col := &tb.Columns[c]
		if col.Binary || col.Charset == "" {
			b.WriteString(strings.TrimRight(s, "\x00"))
			continue
		}
		if !printableASCII(s) || !asciiFoldable(col.Collation) {
			return writeKey{index: index, whole: true}, true
		}
		b.WriteString(strings.ToLower(strings.TrimRight(s, " ")))
	}
	return writeKey{index: index, value: b.String()}, true
}

// asciiFoldable reports whether a collation holds two printable ASCII
// strings equal only when they differ in letter case or trailing spaces.
// Language tailorings do not qualify: Lithuanian holds 'y' equal to 'i',
// Hungarian 'ccs' to 'cscs', Roman 'u' to 'v'; nor does swe7 ('[' is '{').
func asciiFoldable(collation string) bool {
	cs, rest, ok := strings.Cut(collation, "_")
	if !ok {
		return false
	}
	switch cs {
	case "utf8", "utf8mb3", "utf8mb4":
	case "latin1", "ascii":
		return rest == "bin" || rest == "nopad_bin" || rest == "general_ci" || rest == "general_nopad_ci" ||
			rest == "swedish_ci" || rest == "swedish_nopad_ci"
	default:
		return false
	}
	// MariaDB's uca1400 collations may name the charset twice.
	rest = strings.TrimPrefix(rest, "uca1400_")
	switch rest {
	case "bin", "nopad_bin", "general_ci", "general_nopad_ci", "general_mysql500_ci",
		"unicode_ci", "unicode_nopad_ci", "unicode_520_ci", "unicode_520_nopad_ci",
		"0900_ai_ci", "0900_as_ci", "0900_as_cs", "0900_bin",
		"ai_ci", "ai_cs", "as_ci", "as_cs", "nopad_ai_ci", "nopad_ai_cs", "nopad_as_ci", "nopad_as_cs":
		return true
	}
	return false
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
