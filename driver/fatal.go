package driver

import (
	"os"
	"path/filepath"
	"strings"
)

// A task that stopped on an error no retry can fix (the binlog it needs was
// purged, a rule does not fit the source) must not be restarted by Nomad's
// restart policy only to fail the same way. The error is kept in the task's
// own local directory, which lives as long as the allocation and which
// Nomad removes with it; a restart of that task in that allocation fails
// at once, as unrecoverable, with the kept reason. A new allocation (the
// job run again, or placed anew) tries afresh, so that a fix on the
// servers can take effect.

// fatalPath is where the reason is kept; "" when Nomad gave the task no
// directory (a driver run outside Nomad).
func fatalPath(h *taskHandle) string {
	if h.cfg.AllocDir == "" {
		return ""
	}
	return filepath.Join(h.cfg.TaskDir().LocalDir, "dtle-fatal")
}

// rememberFatal keeps err as the reason the task cannot run.
func rememberFatal(h *taskHandle, err error) {
	p := fatalPath(h)
	if p == "" {
		return
	}
	if werr := os.WriteFile(p, []byte(err.Error()), 0o600); werr != nil {
		h.logger.Warn("cannot keep the reason the task failed; a restart will fail the same way", "error", werr)
	}
}

// knownFatal returns the kept reason the task cannot run, if any.
func knownFatal(h *taskHandle) error {
	p := fatalPath(h)
	if p == "" {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil { // none kept (os.ErrNotExist), or unreadable: start
		return nil
	}
	return fatalf("not restarted: this task failed with an error a restart cannot fix (fix the cause, "+
		"then run the job again): %s", strings.TrimSpace(string(b)))
}
