// Package devagent runs a real Nomad agent in dev mode (server and client in
// one process) with the dtle plugin, for end-to-end tests and the demo.
//
// The agent gets its own data directory, TMPDIR, free ports and a config that
// denies the cloud fingerprinters (they hang or fail on machines with
// AWS_CA_BUNDLE set). Stop kills it and waits.
package devagent
