package pool

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors of package pool; test with errors.Is.
var (
	// ErrUnavailable: the address has no ready connection and its last dial
	// failed; the pool is waiting before the next. Calls may go elsewhere.
	// Returned as an *UnavailableError.
	ErrUnavailable = errors.New("pool: provider unavailable")
	// ErrClosed: the Pool (its last user released it) or Manager is closed.
	ErrClosed = errors.New("pool: closed")
	// ErrLimitExceeded: a call waited for an Actives slot until its context
	// ended. The error also matches the context's error.
	ErrLimitExceeded = errors.New("pool: actives limit exceeded")
)

// UnavailableError says why an address cannot take calls now.
type UnavailableError struct {
	Addr     string
	Err      error         // the last dial error
	Failures int           // consecutive failed dials
	RetryIn  time.Duration // until the next dial
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("pool: %s unavailable after %d failed dials (next in %v): %v",
		e.Addr, e.Failures, e.RetryIn.Round(time.Millisecond), e.Err)
}

// Unwrap returns ErrUnavailable and the dial error.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }
