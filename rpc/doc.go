// Package rpc is longlink's transport: a framed, multiplexed protocol over
// long-lived connections, a client connection that many goroutines share, and
// a server.
//
// # Protocol
//
// Frames have a 16-byte header (magic, flags, status, request id, body
// length) and a MessagePack body; PROTOCOL.md describes them exactly. Many
// calls are in flight on one connection at once, matched to replies by id.
// Frames queued while a write is in progress leave together in the next
// write, so a busy connection makes far fewer syscalls than calls.
//
// # Client
//
// Dial (or NewConn) returns a *Conn. Call is synchronous, Go asynchronous;
// both honour their context: a call whose context ends returns at once and
// its late reply is dropped. The deadline and the metadata of the context
// (WithMetadata) travel to the server.
//
// A Conn runs three goroutines, started when it is made and joined by Close:
// a reader, a writer and a heartbeat. After HeartbeatInterval without reading
// anything the connection pings; after MaxMissedHeartbeats silent intervals
// it is declared dead. The first fatal error wins: every pending call and
// every later call fails with a *ConnError that says why (ErrClosed,
// ErrConnLost, ErrHeartbeatTimeout, ErrDraining, ErrProtocol).
//
// # Server
//
// Server.Register publishes a value's methods shaped
//
//	func (t *T) Method(ctx context.Context, arg *Arg) (*Reply, error)
//
// as "T.Method". Each request runs in its own goroutine with a context that
// carries the caller's deadline and metadata (IncomingMetadata). Errors a
// handler returns reach the caller as a *RemoteError with StatusApplication;
// a panic becomes StatusInternal and the server keeps serving. Unknown
// services and methods, undecodable arguments and requests over the Executes
// limit get their own statuses, each matched by a sentinel with errors.Is.
//
// Shutdown stops accepting, announces "closing" on every connection, and
// waits for clients to finish their calls and hang up; Close stops at once.
// Idle connections (nothing read for IdleTimeout) are closed.
//
// # Bad input
//
// Lengths are checked against MaxFrameSize from the header, before any
// allocation; bodies are validated (well-formed, nesting at most 128 deep,
// no claimed length beyond the bytes present) before the codec sees them.
// Bytes that are not a valid frame close that connection only, with the
// reason logged through log/slog.
//
// # Non-goals
//
// Service discovery, load balancing, retries and connection pooling live in
// the packages above this one (registry, pool, and longlink itself). There
// are no streaming calls and no codecs other than MessagePack.
package rpc
