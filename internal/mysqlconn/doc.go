// Package mysqlconn opens connections to MySQL and MariaDB servers and tells
// which flavor and version a server is. It is the only place that builds a
// DSN, and Redact is the only way a DSN or password reaches a log or an error.
package mysqlconn
