// Package pool keeps a process's long-lived connections to provider
// addresses: it dials them (lazily or at once), routes calls over them,
// evicts those that fail their heartbeats or are closed by the provider,
// redials in the background with backoff, and closes them gracefully when
// their last user leaves.
//
// # Connections per address
//
// A Manager hands out Pools by address. Acquire(addr, 0) returns the Pool
// shared by every user of the Manager for that address: one long
// connection, multiplexing every call of every service there (Dubbo's
// default "connections=0"). Acquire(addr, N) returns a Pool of N dedicated
// connections for that user alone; calls rotate over them. Either way each
// connection carries many calls at once. The last release of a Pool drains
// its connections (no new calls, in-flight calls finish) and closes them.
// Default returns the process-wide Manager.
//
// # How puddle serves multiplexed connections
//
// github.com/jackc/puddle/v2 hands a resource to one holder at a time, which
// is right for a connection that carries one call at a time and wrong for a
// multiplexed one: holding a connection per call would serialise its calls,
// and releasing it at once would make puddle's LIFO idle stack send every
// call to the same connection. So a Pool uses puddle for what puddle is
// good at, the lifecycle, and holds each healthy connection as one
// long-term lease:
//
//   - Creation. A Pool's maintainer goroutine fills the puddle pool
//     (MaxSize = N) with CreateResource, whose constructor dials and then
//     pings once: a connection counts as ready only after a full round trip,
//     so a frozen provider whose kernel still completes TCP handshakes is not
//     mistaken for a live one. Only the maintainer dials, so concurrent
//     callers share one dial, and a failed dial never sticks: it is retried
//     with backoff.
//   - Leases. The maintainer acquires each new connection (AcquireAllIdle)
//     and keeps it acquired for as long as it is healthy. The leased
//     connections form a copy-on-write routing table that calls read
//     without locks, in round-robin order.
//   - End of lease and recreate. A connection that dies (heartbeat timeout,
//     reset, protocol error) or whose provider announced shutdown leaves the
//     routing table at once, from its own goroutine's state callback; the
//     maintainer then ends its lease with Hijack, which frees the puddle slot
//     at once, and dials a replacement. It closes a dead connection itself
//     (joining its goroutines), and a draining one once its last in-flight
//     call is answered. Hijack rather than Destroy: Destroy frees the slot
//     only after its destructor has run on a goroutine of its own, so the
//     replacement's dial would find the pool still full.
//   - Statistics: puddle's counts of constructing and acquired resources
//     appear in Stats.
//
// # Failure and backoff
//
// After a failed dial the maintainer waits before the next: Backoff, gRPC's
// connection backoff (1 s, x1.6 per failure, +-20 % jitter, at most 120 s).
// While a Pool has no ready connection and is backing off, Conn fails at once
// with ErrUnavailable, so that callers try other providers instead of
// waiting; Usable reports false and routing skips it. The first dial after a
// healthy connection dies is immediate; backoff applies from the first
// failure.
//
// # Observability
//
// Stats reports each pool's state, connections (with their heartbeat round
// trips), dials, dial failures, evictions and redials (dials that replaced
// an evicted connection; filling a pool of N is not redialling).
// Options.Metrics receives missed heartbeats, evictions by reason, redials
// and dial failures as they happen. Logs: dialling, connected and closing at
// debug; redialled and a provider draining at info; evicted and backing off
// at warn. A healthy pool logs nothing at info or above.
//
// # Actives
//
// Actives limits concurrent calls per key (a consumer's calls to one method
// of one provider, in Dubbo's sense). It is exact under concurrency, waits
// in FIFO order, and releases on every path.
//
// # Non-goals
//
// Choosing among providers (load balancing, failover, stickiness) is the
// root package's job; the registry is package registry's. A Pool serves one
// address.
package pool
