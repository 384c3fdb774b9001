// Package sandbox starts throwaway MariaDB servers on free loopback ports with
// their data in a temporary directory, for tests and the demo. It installs
// Debian's mariadb-server when no server binary is found.
//
// Servers are started as children that die with the starting process
// (Pdeathsig), so a crashed test leaves none behind.
//
// Sandbox does not import testing, so the demo and the benchmark do not link
// it; helpers that take a *testing.M or a testing.TB live in sandboxtest.
package sandbox
