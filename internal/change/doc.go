// Package change is the model the pipeline stages share: GTID sets of both
// flavors, table definitions, row changes, transactions, full-copy chunks,
// and the compact wire encoding of the messages the source task sends to the
// destination task. It imports no stage.
package change
