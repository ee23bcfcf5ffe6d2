package metrics

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/longlink/longlink/rpc"
)

// Recorder receives longlink's measurements. Implementations must be safe
// for concurrent use, must not block and should be cheap; see the package
// documentation. Embed Nop to stay compatible with methods added later.
type Recorder interface {
	// ClientCallStart: a Client.Call of service's method began (one per
	// Call, however many attempts it makes).
	ClientCallStart(service, method string)
	// ClientCallEnd: that call returned to its caller with outcome, after
	// latency (retries and waiting for the registry included).
	ClientCallEnd(service, method string, outcome Outcome, latency time.Duration)
	// ServerCallStart: a server began running a request's handler.
	ServerCallStart(service, method string)
	// ServerCallEnd: the handler returned (or panicked) after latency.
	ServerCallEnd(service, method string, outcome Outcome, latency time.Duration)
	// HeartbeatMissed: a heartbeat ping on a connection to addr went a
	// whole interval without an answer (or anything else read). An idle
	// but healthy connection pings after each silent interval and gets its
	// answer, so it never counts here; a dead one counts
	// MaxMissedHeartbeats-1 times before it is declared dead.
	HeartbeatMissed(addr string)
	// ConnEvicted: a connection to addr left its pool's routing table.
	ConnEvicted(addr string, reason EvictReason)
	// Redialed: a pool connected to addr again after its first connection
	// (a replacement for an evicted one).
	Redialed(addr string)
	// DialFailed: a dial to addr (TCP connect and first ping) failed; the
	// pool backs off before the next.
	DialFailed(addr string)
	// RegistryUpdate: a client applied a registry snapshot of service that
	// left it with instances providers (after version and group filtering).
	RegistryUpdate(service string, instances int)
}

// Nop is a Recorder that records nothing. Embed it in an implementation to
// inherit no-op methods for the events it does not care about.
type Nop struct{}

var _ Recorder = Nop{}

func (Nop) ClientCallStart(service, method string)                                 {}
func (Nop) ClientCallEnd(service, method string, outcome Outcome, d time.Duration) {}
func (Nop) ServerCallStart(service, method string)                                 {}
func (Nop) ServerCallEnd(service, method string, outcome Outcome, d time.Duration) {}
func (Nop) HeartbeatMissed(addr string)                                            {}
func (Nop) ConnEvicted(addr string, reason EvictReason)                            {}
func (Nop) Redialed(addr string)                                                   {}
func (Nop) DialFailed(addr string)                                                 {}
func (Nop) RegistryUpdate(service string, instances int)                           {}

// Outcome is how a call ended. Its String is the label value adapters use.
type Outcome uint8

// Outcomes; the package documentation gives the rules that map an error to
// one.
const (
	// OK: the call returned a result.
	OK Outcome = iota
	// ApplicationError: the handler returned an error.
	ApplicationError
	// ServerError: the provider could not run the handler: it panicked, or
	// the service or method is unknown there, or the argument could not be
	// decoded, or the result could not be encoded.
	ServerError
	// TransportError: the connection failed (lost, heartbeat timeout,
	// provider draining, protocol error) or no connection could be had.
	TransportError
	// Timeout: the call's deadline passed, at the caller or at the handler.
	Timeout
	// Canceled: the caller's context was canceled, or the client closed.
	Canceled
	// LimitExceeded: a concurrency limit refused the call: the client's
	// Actives (after waiting until the deadline) or the provider's Executes.
	LimitExceeded
	// NoProvider: no provider of the service was known or usable.
	NoProvider
	// Other: an error none of the above describes, such as one an
	// interceptor made up.
	Other
)

var outcomeNames = [...]string{
	OK:               "ok",
	ApplicationError: "application_error",
	ServerError:      "server_error",
	TransportError:   "transport_error",
	Timeout:          "timeout",
	Canceled:         "canceled",
	LimitExceeded:    "limit_exceeded",
	NoProvider:       "no_provider",
	Other:            "other",
}

// String returns the outcome's label value, e.g. "application_error".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "other"
}

// Outcomes returns every Outcome, in order, for adapters that initialise
// their series up front.
func Outcomes() []Outcome {
	out := make([]Outcome, len(outcomeNames))
	for i := range out {
		out[i] = Outcome(i)
	}
	return out
}

// Classify maps err to an Outcome with the rules that need only packages rpc
// and context (see the package documentation). It never returns NoProvider
// or LimitExceeded for a client's own limit: those errors belong to packages
// above rpc, and longlink.CallOutcome checks them first.
func Classify(err error) Outcome {
	if err == nil {
		return OK
	}
	if errors.Is(err, rpc.ErrOverloaded) {
		return LimitExceeded
	}
	var re *rpc.RemoteError
	if errors.As(err, &re) {
		switch re.Status {
		case rpc.StatusApplication:
			return ApplicationError
		case rpc.StatusDeadline:
			return Timeout
		}
		return ServerError
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	}
	var ce *rpc.ConnError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) {
		return TransportError
	}
	return Other
}

// EvictReason says why a connection left its pool's routing table. Its
// String is the label value adapters use.
type EvictReason uint8

// Eviction reasons, from the state and error the connection reported.
const (
	// HeartbeatTimeout: nothing was read for MaxMissedHeartbeats intervals
	// (rpc.ErrHeartbeatTimeout): a frozen provider or a dead path.
	HeartbeatTimeout EvictReason = iota
	// ConnLost: the provider closed the connection or an I/O error broke it
	// (rpc.ErrConnLost).
	ConnLost
	// Draining: the provider announced a graceful shutdown (rpc.ErrDraining,
	// or the connection became rpc.StateDraining).
	Draining
	// ProtocolError: the provider sent bytes that are not a valid frame, or
	// one too large (rpc.ErrProtocol, rpc.ErrFrameTooLarge).
	ProtocolError
	// Closed: the connection was closed locally while still in use
	// (rpc.ErrClosed).
	Closed
	// OtherReason: anything else.
	OtherReason
)

var evictNames = [...]string{
	HeartbeatTimeout: "heartbeat_timeout",
	ConnLost:         "conn_lost",
	Draining:         "draining",
	ProtocolError:    "protocol_error",
	Closed:           "closed",
	OtherReason:      "other",
}

// String returns the reason's label value, e.g. "heartbeat_timeout".
func (r EvictReason) String() string {
	if int(r) < len(evictNames) {
		return evictNames[r]
	}
	return "other"
}

// EvictReasons returns every EvictReason, in order.
func EvictReasons() []EvictReason {
	out := make([]EvictReason, len(evictNames))
	for i := range out {
		out[i] = EvictReason(i)
	}
	return out
}

// EvictReasonOf maps what a connection reported to its pool (through
// rpc.ClientOptions.OnStateChange) to an EvictReason.
func EvictReasonOf(s rpc.ConnState, err error) EvictReason {
	switch {
	case s == rpc.StateDraining || errors.Is(err, rpc.ErrDraining):
		return Draining
	case errors.Is(err, rpc.ErrHeartbeatTimeout):
		return HeartbeatTimeout
	case errors.Is(err, rpc.ErrConnLost):
		return ConnLost
	case errors.Is(err, rpc.ErrProtocol) || errors.Is(err, rpc.ErrFrameTooLarge):
		return ProtocolError
	case errors.Is(err, rpc.ErrClosed):
		return Closed
	}
	return OtherReason
}
