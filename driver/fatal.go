package driver

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
)

// A task that stopped on an error no retry can fix (the binlog it needs was
// purged, a rule does not fit the source) must not be restarted by Nomad's
// restart policy only to fail the same way. The error is kept in the node's
// data_dir under the allocation and task; a restart of that task in that
// allocation fails at once, as unrecoverable, with the kept reason. A new
// allocation (the job run again, or placed anew) tries afresh, so that a
// fix on the servers can take effect.

func (d *Driver) fatalPath(h *taskHandle) string {
	sum := sha256.Sum256([]byte(h.cfg.AllocID + "\x00" + h.cfg.Name))
	return filepath.Join(d.nodeConfig().DataDir, "fatal", hex.EncodeToString(sum[:16]))
}

// rememberFatal keeps err as the reason the task cannot run.
func (d *Driver) rememberFatal(h *taskHandle, err error) {
	p := d.fatalPath(h)
	perr := os.MkdirAll(filepath.Dir(p), 0o700)
	if perr == nil {
		perr = os.WriteFile(p, []byte(err.Error()), 0o600)
	}
	if perr != nil {
		h.logger.Warn("cannot keep the reason the task failed; a restart will fail the same way", "error", perr)
	}
}

// knownFatal returns the kept reason the task cannot run, if any.
func (d *Driver) knownFatal(h *taskHandle) error {
	b, err := os.ReadFile(d.fatalPath(h))
	if err != nil { // none kept (os.ErrNotExist), or unreadable: start
		return nil
	}
	return fatalf("not restarted: this task failed with an error a restart cannot fix (fix the cause, "+
		"then run the job again): %s", strings.TrimSpace(string(b)))
}
