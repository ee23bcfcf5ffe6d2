package longlink

import (
	"errors"
	"fmt"
)

// Sentinel errors of package longlink; test with errors.Is. Errors of the
// layers below pass through unchanged: *rpc.RemoteError for answers from a
// provider, *rpc.ConnError for transport failures, pool.ErrUnavailable and
// pool.ErrLimitExceeded for routing and limits, and the context's error.
var (
	// ErrNoProvider: no provider of the service (with the requested version
	// and group) is known, or none can take calls. Returned as a
	// *NoProviderError.
	ErrNoProvider = errors.New("longlink: no provider")
	// ErrClosed: the Client (or Provider) was closed.
	ErrClosed = errors.New("longlink: closed")
)

// NoProviderError names what was asked for and why nothing could serve it.
type NoProviderError struct {
	Service, Version, Group string
	Known                   int   // providers known, none of them usable
	Last                    error // the last routing error, if any
}

func (e *NoProviderError) Error() string {
	s := fmt.Sprintf("longlink: no provider for service %q (version %q, group %q)", e.Service, e.Version, e.Group)
	if e.Known > 0 {
		s += fmt.Sprintf(": %d known, none usable", e.Known)
	}
	if e.Last != nil {
		s += ": " + e.Last.Error()
	}
	return s
}

// Unwrap returns ErrNoProvider and the last routing error.
func (e *NoProviderError) Unwrap() []error {
	if e.Last == nil {
		return []error{ErrNoProvider}
	}
	return []error{ErrNoProvider, e.Last}
}
