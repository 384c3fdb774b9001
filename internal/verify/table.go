package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// plan is how one replicated table is compared: the same columns in the
// same (destination) order on both sides, the source's rows under the
// job's where filter.
type plan struct {
	src, dst change.TableName
	// cols are the columns compared, in destination order, with the
	// source's definitions; srcNames and dstNames their quoted names on
	// each side. Generated columns are left out: the applier never writes
	// them, each server computes its own.
	cols               []change.Column
	srcNames, dstNames []string
	// asBytes says, per compared column, that the destination's column has
	// the source's character set (rowString).
	asBytes []bool
	// key indexes cols: the columns chunks are bounded by; nil compares
	// the table whole.
	key []int
	// where is the job's row filter for the source, "" for every row.
	where string
}

func (p *plan) srcFrom() string { return tableinfo.QuoteName(p.src.Schema, p.src.Table) }
func (p *plan) dstFrom() string { return tableinfo.QuoteName(p.dst.Schema, p.dst.Table) }

// keyNames are the destination names of the key columns, unquoted.
func (p *plan) keyNames() []string {
	out := make([]string, len(p.key))
	for i, k := range p.key {
		out[i] = strings.Trim(strings.ReplaceAll(p.dstNames[k], "``", "`"), "`")
	}
	return out
}

// newPlan reads the source table and applies the job's target to it, the
// way the source task shapes its rows: renamed, only the mapped columns
// under their new names, only the rows the where filter passes. The
// destination table must have every compared column.
func newPlan(ctx context.Context, src, dst *sql.DB, n change.TableName, tg *filter.Target) (*plan, error) {
	t, err := tableinfo.Load(ctx, src, n.Schema, n.Table)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	if err := tg.Check(t); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	p := &plan{src: n, dst: change.TableName{Schema: tg.Schema, Table: tg.Table}}
	if tg.Where != nil {
		p.where = tg.Where.SQL()
	}
	index := map[string]int{}
	for i, c := range t.Columns {
		index[strings.ToLower(c.Name)] = i
	}
	// proj lists the source columns compared, in destination order.
	var proj []int
	var to []string
	if tg.From != nil {
		for i, name := range tg.From {
			proj = append(proj, index[strings.ToLower(name)]) // Check found it
			to = append(to, tg.To[i])
		}
	} else {
		for i, c := range t.Columns {
			proj = append(proj, i)
			to = append(to, c.Name)
		}
	}
	pos := map[int]int{} // source column: index in p.cols
	for i, j := range proj {
		c := t.Columns[j]
		if c.Generated {
			continue
		}
		pos[j] = len(p.cols)
		p.cols = append(p.cols, c)
		p.srcNames = append(p.srcNames, tableinfo.Quote(c.Name))
		p.dstNames = append(p.dstNames, tableinfo.Quote(to[i]))
	}
	p.key = chunkKey(t, pos, p.cols)
	if err := p.checkDest(ctx, dst); err != nil {
		return nil, err
	}
	return p, nil
}

// chunkKey maps the source table's key to compared columns; nil when a key
// column is not compared, or is a floating-point number, whose text form
// does not bound a range exactly.
func chunkKey(t *change.Table, pos map[int]int, cols []change.Column) []int {
	if !t.HasKey() {
		return nil
	}
	out := make([]int, len(t.Key))
	for i, k := range t.Key {
		p, ok := pos[k]
		if !ok {
			return nil
		}
		switch cols[p].DataType {
		case "float", "double", "real":
			return nil
		}
		out[i] = p
	}
	return out
}

// checkDest checks that the destination table has every compared column,
// and sets asBytes.
func (p *plan) checkDest(ctx context.Context, dst *sql.DB) error {
	d, err := tableinfo.Load(ctx, dst, p.dst.Schema, p.dst.Table)
	if errors.Is(err, tableinfo.ErrNoTable) {
		return fmt.Errorf("destination table %s: %w", p.dst, err)
	}
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	have := map[string]*change.Column{}
	for i := range d.Columns {
		have[strings.ToLower(d.Columns[i].Name)] = &d.Columns[i]
	}
	var missing []string
	p.asBytes = make([]bool, len(p.dstNames))
	for i, q := range p.dstNames {
		name := strings.Trim(strings.ReplaceAll(q, "``", "`"), "`")
		c := have[strings.ToLower(name)]
		if c == nil {
			missing = append(missing, name)
			continue
		}
		p.asBytes[i] = c.Charset != "" && strings.EqualFold(c.Charset, p.cols[i].Charset) && textType(c) && textType(&p.cols[i])
	}
	if len(missing) > 0 {
		return fmt.Errorf("destination table %s has no column %s", p.dst, strings.Join(missing, ", "))
	}
	return nil
}

// note says what to expect of a table whose rule drops some of its events:
// differences by design.
func note(tg *filter.Target) string {
	var ignored []string
	for _, e := range []filter.Event{filter.Insert, filter.Update, filter.Delete} {
		if tg.Ignores(e) {
			ignored = append(ignored, string(e))
		}
	}
	if len(ignored) == 0 {
		return ""
	}
	return fmt.Sprintf("the job's rule %s ignores %s events: the destination is expected to differ", tg.Rule, strings.Join(ignored, ", "))
}
