// Package repltest holds integration tests of the replication pipeline:
// extractor and applier joined by an embedded NATS server, on throwaway
// MariaDB servers (or the servers named by DTLE_TEST_SOURCE/DEST). Every
// test ends by comparing source and destination row by row.
package repltest
