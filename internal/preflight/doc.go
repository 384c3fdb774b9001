// Package preflight checks that a MySQL or MariaDB server can play its role in
// a dtle job: a source needs the binlog on, in ROW format with FULL row images,
// GTIDs, a server_id and replication privileges; a destination needs a
// connection and write privileges.
//
// The result is a Report in the shape of the API's validation route; each
// failed check says what to change on the server or in the job.
package preflight
