package rpc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors of package rpc. Errors returned by this package wrap them;
// test with errors.Is. Transport failures arrive as a *ConnError, answers
// from the server that are not a result as a *RemoteError; both wrap the
// matching sentinel below.
var (
	// ErrClosed: the connection (or server) was closed locally by Close.
	ErrClosed = errors.New("rpc: closed")
	// ErrConnLost: the peer closed the connection or an I/O error broke it.
	ErrConnLost = errors.New("rpc: connection lost")
	// ErrHeartbeatTimeout: nothing was read from the peer for
	// MaxMissedHeartbeats heartbeat intervals; the connection was closed.
	ErrHeartbeatTimeout = errors.New("rpc: heartbeat timeout")
	// ErrDraining: the peer announced that it is shutting down. A call that
	// gets this error was never sent, and can safely go elsewhere.
	ErrDraining = errors.New("rpc: peer is shutting down")
	// ErrProtocol: the peer sent bytes that are not a valid frame; the
	// connection was closed.
	ErrProtocol = errors.New("rpc: protocol error")
	// ErrFrameTooLarge: a frame's body exceeds MaxFrameSize. Received, it
	// closes the connection; about to be sent, it fails only that call.
	ErrFrameTooLarge = errors.New("rpc: frame too large")
	// ErrServerClosed is returned by Server.Serve after Shutdown or Close.
	ErrServerClosed = errors.New("rpc: server closed")

	// The errors below match a *RemoteError with the corresponding status.

	// ErrApplication: the handler returned an error.
	ErrApplication = errors.New("rpc: application error")
	// ErrInternal: the handler panicked or its result could not be encoded.
	ErrInternal = errors.New("rpc: internal server error")
	// ErrUnknownService: no service of that name is registered.
	ErrUnknownService = errors.New("rpc: unknown service")
	// ErrUnknownMethod: the service has no method of that name.
	ErrUnknownMethod = errors.New("rpc: unknown method")
	// ErrBadRequest: the request body or its argument could not be decoded.
	ErrBadRequest = errors.New("rpc: bad request")
	// ErrOverloaded: a concurrency limit (the method's Executes, or the
	// connection's MaxRequestsPerConn) was reached; the handler did not run.
	ErrOverloaded = errors.New("rpc: server overloaded")
	// ErrUnauthenticated: the server's Authenticate refused the request's
	// credentials; the handler did not run.
	ErrUnauthenticated = errors.New("rpc: unauthenticated")
)

// Status is the outcome a response frame carries.
type Status uint8

// Statuses on the wire; rpc/PROTOCOL.md lists the same table.
const (
	StatusOK              Status = 0
	StatusApplication     Status = 1
	StatusInternal        Status = 2
	StatusUnknownService  Status = 3
	StatusUnknownMethod   Status = 4
	StatusBadRequest      Status = 5
	StatusOverloaded      Status = 6
	StatusDeadline        Status = 7
	StatusUnauthenticated Status = 8
)

var statusErrors = [...]error{
	StatusApplication:     ErrApplication,
	StatusInternal:        ErrInternal,
	StatusUnknownService:  ErrUnknownService,
	StatusUnknownMethod:   ErrUnknownMethod,
	StatusBadRequest:      ErrBadRequest,
	StatusOverloaded:      ErrOverloaded,
	StatusDeadline:        context.DeadlineExceeded,
	StatusUnauthenticated: ErrUnauthenticated,
}

// String names the status.
func (s Status) String() string {
	if s == StatusOK {
		return "ok"
	}
	if s == StatusDeadline {
		return "deadline exceeded"
	}
	if int(s) < len(statusErrors) && statusErrors[s] != nil {
		return statusErrors[s].Error()[len("rpc: "):]
	}
	return "status " + strconv.Itoa(int(s))
}

// RemoteError is a non-OK answer from the server: the handler's own error
// (StatusApplication) or the server's refusal to run it. It matches the
// sentinel of its status with errors.Is, e.g. errors.Is(err, ErrOverloaded);
// StatusDeadline matches context.DeadlineExceeded and is a net.Error whose
// Timeout reports true.
type RemoteError struct {
	Status  Status
	Message string
}

func (e *RemoteError) Error() string {
	if e.Status == StatusApplication {
		return "rpc: remote error: " + e.Message
	}
	return "rpc: remote " + e.Status.String() + ": " + e.Message
}

// Is reports whether target is the sentinel of e's status.
func (e *RemoteError) Is(target error) bool {
	return int(e.Status) < len(statusErrors) && statusErrors[e.Status] == target && target != nil
}

// Timeout reports whether the handler ran out of the caller's deadline.
func (e *RemoteError) Timeout() bool { return e.Status == StatusDeadline }

// Temporary reports false; it exists so that *RemoteError satisfies net.Error.
func (e *RemoteError) Temporary() bool { return false }

// ConnError is how a transport failure reaches callers: every call pending on
// a connection when it fails, and every later call on it, gets one. Reason is
// one of ErrClosed, ErrConnLost, ErrHeartbeatTimeout, ErrDraining,
// ErrProtocol or ErrFrameTooLarge; Err is the underlying cause, if any. A
// heartbeat timeout satisfies net.Error with Timeout() true.
type ConnError struct {
	Addr   string // the peer's address
	Reason error
	Err    error
}

func (e *ConnError) Error() string {
	s := e.Reason.Error() + " (" + e.Addr + ")"
	if e.Err != nil && e.Err != e.Reason {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Reason and, if set, Err.
func (e *ConnError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

// Timeout reports whether the connection failed its heartbeats.
func (e *ConnError) Timeout() bool { return e.Reason == ErrHeartbeatTimeout }

// Temporary reports true: another connection may well succeed. It exists so
// that *ConnError satisfies net.Error.
func (e *ConnError) Temporary() bool { return true }

// Retryable reports whether err is a failure of transport or of capacity
// after which the same call may go to another provider: a *ConnError (except
// one caused by a local Close), or a refusal with ErrOverloaded. Application
// errors, unknown services or methods, bad requests, and ended contexts are
// not retryable.
func Retryable(err error) bool {
	var ce *ConnError
	if errors.As(err, &ce) {
		return ce.Reason != ErrClosed
	}
	return errors.Is(err, ErrOverloaded)
}

// protocolErrorf returns an error wrapping ErrProtocol.
func protocolErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}
