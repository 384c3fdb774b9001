// Package transport carries a job's messages from its source task to its
// destination task over NATS, or directly when both run in one process.
//
// The destination listens on two subjects of the job: "dtle.<job>.hello"
// and "dtle.<job>.data". The source first asks hello and gets the
// destination's checkpoint with a fresh session id; then it sends each
// message as a request carrying that session and the next sequence number,
// and waits for the reply. One request in flight gives backpressure end to
// end: the source reads no faster than the destination takes.
//
// The destination answers a message from an old session or out of sequence
// with ErrResync: after a restart of either side the source must say hello
// again and resume from the checkpoint, so nothing is lost or applied twice.
//
// A message larger than the server's max payload goes in parts, each a
// request of its own with a "Dtle-Part: i/n" header, acknowledged one by
// one; the destination handles the message once the last part is in.
// Decoding is bounded (change.MaxFrameBytes), and a panic of the handler is
// the message's error, never the plugin's end.
//
// Two tasks of one job in one process meet through a Direct instead: the
// same messages, sessions, replies and timeouts, handed over in memory.
package transport
