// Package devagent runs a real Nomad agent in dev mode (server and client in
// one process) with the dtle plugin, for end-to-end tests and the demo.
//
// The agent gets its own data directory, TMPDIR, free ports and a config that
// denies the cloud fingerprinters (they hang or fail on machines with
// AWS_CA_BUNDLE set). Stop kills it and waits.
//
// By default everything is plain HTTP and NATS on loopback. With
// Options.TLS (files from NewTLSFiles), Nomad's HTTP API and RPC and the
// plugin's NATS run over TLS with client certificates, and the plugin's
// HTTP API over HTTPS; Options.APIToken and Options.NatsToken set the
// plugin's tokens.
package devagent
