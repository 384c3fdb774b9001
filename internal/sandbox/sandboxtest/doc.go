// Package sandboxtest holds the helpers of package sandbox that need the
// testing package: a TestMain body that starts a server pair, and database
// and logging helpers that fail or log through a testing.TB. Keeping them
// apart means the demo and the benchmark, which use sandbox, do not link
// testing.
package sandboxtest
