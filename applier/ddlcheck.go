package applier

import (
	"regexp"

	"github.com/dtle-io/dtle/internal/position"
)

// ErrRefusedDDL: a schema change from the source is not one replicated DDL
// statement on the job's own tables, so the applier does not run it. It is
// position.ErrRefusedDDL: the check of a schema change from the source
// (position.CheckDDL) and of an operator's replacement
// (position.CheckStatements, the API's check too) are written once, there.
var ErrRefusedDDL = position.ErrRefusedDDL

// wordName is what a character set's or collation's name may be when it
// goes into SQL written here; anything else never does.
var wordName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
