package change

import "strings"

// Every transaction a dtle applier commits on a MySQL destination writes its
// job's row of `dtle`.`checkpoint`, and every DDL it runs starts with
// AppliedMark: a source job with skip_dtle_applied finds in its binlog what a
// dtle job wrote there, and does not send it back (two-way replication).

// The table holding each job's applied position on a destination; its
// first column is the job id.
const (
	CheckpointSchema = "dtle"
	CheckpointTable  = "checkpoint"
)

// appliedPrefix starts every DDL a dtle applier runs.
const appliedPrefix = "/* dtle applied job="

// AppliedMark is the comment a dtle applier puts before each DDL it runs
// for job.
func AppliedMark(job string) string {
	return appliedPrefix + strings.ReplaceAll(job, "*/", "* /") + " */ "
}

// AppliedBy is the job whose applier ran sql (see AppliedMark), if one did.
func AppliedBy(sql string) (job string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(sql), appliedPrefix)
	if !ok {
		return "", false
	}
	job, _, ok = strings.Cut(rest, " */")
	return job, ok
}
