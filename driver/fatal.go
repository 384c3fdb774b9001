package driver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// A task that stopped on an error no retry can fix (the binlog it needs was
// purged, a rule does not fit the source) must not run again as it is: Nomad
// would restart it and fail the same way, over and over. The error is kept
// in the node's data_dir under the job, the task and its config; a start of
// that same task fails at once, without restarting, with the kept reason.
// Changing the task's config (or a new job) starts afresh.

func (d *Driver) fatalPath(h *taskHandle) (string, error) {
	b, err := json.Marshal(h.task)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append([]byte(h.cfg.Namespace+"\x00"+h.cfg.JobID+"\x00"+h.cfg.Name+"\x00"), b...))
	return filepath.Join(d.nodeConfig().DataDir, "fatal", hex.EncodeToString(sum[:16])), nil
}

// rememberFatal keeps err as the reason the task cannot run.
func (d *Driver) rememberFatal(h *taskHandle, err error) {
	p, perr := d.fatalPath(h)
	if perr == nil {
		perr = os.MkdirAll(filepath.Dir(p), 0o700)
	}
	if perr == nil {
		perr = os.WriteFile(p, []byte(err.Error()), 0o600)
	}
	if perr != nil {
		h.logger.Warn("cannot keep the reason the task failed; a restart will fail the same way", "error", perr)
	}
}

// knownFatal returns the kept reason the task cannot run, if any.
func (d *Driver) knownFatal(h *taskHandle) error {
	p, err := d.fatalPath(h)
	if err != nil {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil { // none kept (os.ErrNotExist), or unreadable: start
		return nil
	}
	return fatalf("not started again: this task already failed with an error a restart cannot fix "+
		"(change the job, or stop it and start a new one): %s", strings.TrimSpace(string(b)))
}
