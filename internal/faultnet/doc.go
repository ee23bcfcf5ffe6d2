// Package faultnet injects network faults through real loopback sockets, for
// longlink's tests, benchmarks and demos.
//
// A [Proxy] sits between a client and a target on 127.0.0.1 and, for all of
// its connections at once, forwards ([Proxy.Pass]), stops forwarding while
// keeping both sockets open ([Proxy.Freeze], a hung peer), silently eats
// bytes ([Proxy.Blackhole]), adds latency ([Proxy.Delay]), aborts every
// connection with a TCP RST ([Proxy.ResetAll]) or resets new connections at
// once ([Proxy.SetRefuse], a target that is down). A [Conn] wraps one
// net.Conn and freezes, delays or fails its reads and writes separately.
//
// Both are exact: once a method that stops traffic has returned, no further
// byte crosses until traffic is allowed again, and a frozen byte is held, not
// lost. Every goroutine the package starts is owned by a Proxy and has exited
// when its Close returns; a Conn starts none. The package never logs.
//
// Non-goals: it is not a general chaos tool. It does not model packet loss,
// reordering, bandwidth limits, partial partitions or non-loopback networks,
// and it is not meant for production traffic.
package faultnet
