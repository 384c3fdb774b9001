package preflight

import "fmt"

// CheckError is one failed check. Its text names the task, the check and what
// to change.
type CheckError struct {
	Task   string
	Check  string
	Reason string
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("%s task: %s check failed: %s", e.Task, e.Check, e.Reason)
}
