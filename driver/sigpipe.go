package driver

import (
	"os/signal"
	"syscall"
)

// ignoreBrokenPipes keeps the plugin alive when the Nomad agent that
// started it dies. The plugin's logs go to its standard error, a pipe the
// agent reads; once the agent is gone, a Go program that writes there is
// killed by SIGPIPE, and with it every task of the node, although the next
// agent would reattach to the plugin and find its tasks running. Ignored,
// the write fails instead (the line is lost) and the tasks go on.
func ignoreBrokenPipes() { signal.Ignore(syscall.SIGPIPE) }
