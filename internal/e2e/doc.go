// Package e2e holds end-to-end tests: a real Nomad agent in dev mode runs the
// built dtle plugin, jobs go in through the nomad CLI, and the tests watch
// allocations, task events and the databases.
package e2e
