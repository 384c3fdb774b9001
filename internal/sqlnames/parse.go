package sqlnames

import (
	"errors"
	"fmt"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions (defaults, literals)
)

// ErrParserPanic: TiDB's parser panicked on the statement (its test driver
// does on some literals, such as a decimal of very many digits); the
// statement is treated as one it cannot read.
var ErrParserPanic = errors.New("the SQL parser failed on the statement")

// Parse parses sql with TiDB's parser. A statement comes from outside (the
// source's binlog, a job's rule): a panic of the parser is an error, never
// the task's end.
func Parse(sql string) (stmts []ast.StmtNode, err error) {
	defer func() {
		if r := recover(); r != nil {
			stmts, err = nil, fmt.Errorf("%w: %v", ErrParserPanic, r)
		}
	}()
	stmts, _, err = parser.New().Parse(sql, "", "")
	return stmts, err
}
