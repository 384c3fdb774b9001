package preflight

import (
	"errors"
	"fmt"

	"github.com/dtle-io/dtle/internal/mysqlconn"
)

// Check is the outcome of one check. A nil *Check in a Report means the
// check does not apply to that task.
type Check struct {
	Validated bool   `json:"validated"`
	Error     string `json:"error"`
}

// Report is the outcome of all checks of one task.
type Report struct {
	TaskName   string `json:"task_name"`
	Connection *Check `json:"connection_validation"`
	Privileges *Check `json:"privileges_validation"`
	GtidMode   *Check `json:"gtid_mode_validation"`
	ServerID   *Check `json:"server_id_validation"`
	Binlog     *Check `json:"binlog_validation"`

	// RuleWarnings name the rules of replicate_do_db and replicate_ignore_db
	// that match no table on the source; RuleErrors the rules that do not
	// fit the tables they match (a mapped column or a where column the
	// table lacks).
	RuleWarnings []string `json:"-"`
	RuleErrors   []string `json:"-"`

	// Server is what the connection found; zero when it failed.
	Server mysqlconn.Server `json:"-"`
}

func pass() *Check { return &Check{Validated: true} }

func fail(format string, args ...any) *Check {
	return &Check{Error: fmt.Sprintf(format, args...)}
}

// Err joins every failed check into one error, nil when all passed.
func (r *Report) Err() error {
	var errs []error
	for _, c := range []struct {
		name  string
		check *Check
	}{
		{"connection", r.Connection},
		{"privileges", r.Privileges},
		{"gtid_mode", r.GtidMode},
		{"server_id", r.ServerID},
		{"binlog", r.Binlog},
	} {
		if c.check != nil && !c.check.Validated {
			errs = append(errs, &CheckError{Task: r.TaskName, Check: c.name, Reason: c.check.Error})
		}
	}
	return errors.Join(errs...)
}
