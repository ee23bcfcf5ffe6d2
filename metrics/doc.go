// Package metrics is longlink's small, dependency-free vocabulary for
// metrics: a Recorder interface that the client, the pool and the server
// call at the moments worth counting, the outcome of a call, and the reason
// a connection was evicted. Adapters turn a Recorder into a metrics system;
// package metrics/prometheus is the one that ships with longlink.
//
// # Wiring
//
//   - longlink.ClientOptions.Metrics: every Client.Call, once, outermost of
//     the client's interceptors, so it sees the error the caller gets after
//     failover retries: ClientCallStart, then ClientCallEnd with the outcome
//     and latency. Registry snapshots the client applies: RegistryUpdate.
//   - pool.Options.Metrics: per connection, HeartbeatMissed (through
//     rpc.ClientOptions.OnHeartbeatMissed, chained with any hook already
//     set), ConnEvicted, DialFailed and Redialed.
//   - ServerInterceptor(rec) in rpc.ServerOptions.Interceptors, first in
//     the list: ServerCallStart and ServerCallEnd around each request a
//     handler runs.
//
// A nil Recorder in those options costs one nil check and nothing else.
//
// # Outcomes
//
// A call ends in exactly one Outcome. For a client call, the first rule that
// matches wins (longlink.CallOutcome implements this table; Classify
// implements the rules that need only package rpc and context):
//
//	nil                                          OK
//	longlink.ErrNoProvider                       NoProvider
//	pool.ErrLimitExceeded, rpc.ErrOverloaded     LimitExceeded (before timeout: both also match the context's error)
//	*rpc.RemoteError, StatusApplication          ApplicationError
//	*rpc.RemoteError, StatusDeadline             Timeout
//	*rpc.RemoteError, any other status           ServerError (panic, unknown service or method, bad request)
//	context.Canceled, longlink.ErrClosed         Canceled
//	context.DeadlineExceeded                     Timeout
//	*rpc.ConnError, pool.ErrUnavailable,
//	pool.ErrClosed, a net.Error                  TransportError
//	anything else (e.g. an interceptor's own)    Other
//
// On the server, the handler's (or an inner interceptor's) error is mapped
// as package rpc maps it to a status: a panic is ServerError, an error
// matching context.DeadlineExceeded is Timeout, context.Canceled is
// Canceled, any other error is ApplicationError. Requests that the server
// refuses before any handler runs (unknown service or method, undecodable
// argument, over the Executes limit) do not pass through interceptors and
// are not recorded here; the calling client records them.
//
// # Connections by state
//
// The Recorder has no "connection state changed" event. How many
// connections and pools are in each state is a level, not a flow, and is
// best read at scrape time from the snapshots pool.Manager.Stats already
// keeps (metrics/prometheus.NewPoolCollector does that): a snapshot is exact
// by construction, while gauges kept by increments and decrements drift as
// soon as one transition is missed or a pool closes while counted. Flows
// (evictions by reason, redials, dial failures) are recorded as they happen
// instead, because the pool's own counters disappear with the pool and do
// not say why a connection was evicted.
//
// # Implementing a Recorder
//
// Methods are called on the paths they measure, concurrently, from many
// goroutines, and some while a connection's goroutine waits: they must be
// safe for concurrent use, must not block, and should be cheap (an atomic
// add or a map lookup, not I/O). They receive strings the caller already
// holds; nothing is allocated for them. Embed Nop in an implementation so
// that it keeps compiling when methods are added to Recorder.
//
// # Non-goals
//
// No metrics system of its own (no registry, no exposition format, no
// aggregation), no tracing, and no per-provider-address labels in the
// shipped adapter: addresses are passed to the Recorder for implementations
// that want them.
package metrics
