package registry

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"
)

// DefaultWeight is the routing weight of an instance that does not state one.
const DefaultWeight = 100

// Metadata keys under which the typed Instance fields travel in registries that
// only carry a string map (Consul's service meta, for one).
const (
	MetaWeight    = "weight"     // decimal integer, > 0
	MetaVersion   = "version"    // free-form, compared for equality
	MetaGroup     = "group"      // free-form, compared for equality
	MetaStartedAt = "started_at" // Unix milliseconds, decimal
)

// Sentinel errors of package registry. They are returned wrapped; test with errors.Is.
var (
	// ErrClosed is returned by a Watcher or Registration used after Close.
	ErrClosed = errors.New("registry: closed")
	// ErrInvalidInstance is returned by Register for an instance without a
	// service name, host or valid port.
	ErrInvalidInstance = errors.New("registry: invalid instance")
	// ErrUnreachable is returned when the registry cannot be reached or has
	// no working cluster (Consul: connection refused, no leader) at a moment
	// an answer is required, such as NewConsul's start-up check.
	ErrUnreachable = errors.New("registry: unreachable")
	// ErrAccessDenied is returned when the registry refuses the request's
	// credentials (Consul: an unknown ACL token, or one without the needed
	// permission).
	ErrAccessDenied = errors.New("registry: access denied")
)

// Instance is one provider of one service, as registries store it and as
// watchers report it.
type Instance struct {
	// Service is the logical service name that consumers look up. Required.
	Service string
	// ID identifies the instance among all instances of all services in the
	// registry. Default: "<Service>-<Host>:<Port>".
	ID string
	// Host and Port form the address consumers dial. Both required.
	Host string
	Port int
	// Tags are free-form labels, carried through unchanged.
	Tags []string
	// Meta is free-form metadata (string to string), carried through unchanged.
	Meta map[string]string
	// Weight is the instance's relative share of traffic under weighted
	// balancing. Zero means DefaultWeight (100).
	Weight int
	// Version and Group are Dubbo's service version and group: consumers that
	// ask for one are routed only to instances that match exactly.
	Version string
	Group   string
	// StartedAt is when the provider began serving; consumers use it to warm a
	// new provider up. Zero means unknown (no warm-up).
	StartedAt time.Time
}

// Addr returns the instance's dial address, "host:port".
func (i Instance) Addr() string { return net.JoinHostPort(i.Host, strconv.Itoa(i.Port)) }

// Registry announces providers and lets consumers follow them. Implementations
// are safe for concurrent use.
type Registry interface {
	// Register announces inst and keeps it announced (refreshing any health
	// check the registry uses) until the Registration is deregistered.
	Register(ctx context.Context, inst Instance, opts RegisterOptions) (Registration, error)
	// Watch follows the healthy instances of service until the Watcher is closed.
	Watch(ctx context.Context, service string) (Watcher, error)
}

// RegisterOptions tune one registration. The zero value is ready to use.
type RegisterOptions struct {
	// Health reports whether the instance is really serving. Registries that
	// keep a health check (Consul's TTL check) pass it only while Health
	// returns nil, and fail it with the error's text otherwise. Nil means the
	// instance counts as serving for as long as it is registered.
	//
	// Registries call it once in Register (so that an instance starts in the
	// right state) and then periodically from a goroutine of their own; calls
	// for one registration never overlap. It must return promptly:
	// Deregister waits for a call in progress.
	Health func() error
}

// Registration is one announced instance.
type Registration interface {
	// Instance returns the instance as registered, defaults filled in.
	Instance() Instance
	// Deregister withdraws the instance and stops everything the registration
	// runs (its health refresher included) before returning. Calling it again
	// returns nil.
	Deregister(ctx context.Context) error
}

// Watcher follows the healthy instances of one service.
type Watcher interface {
	// Next returns the current set of healthy instances: a full snapshot, never
	// a delta. The first call returns as soon as the registry has answered
	// once (possibly with an empty set); later calls block until the set
	// differs from the one last returned, ctx ends, or the Watcher is closed
	// (ErrClosed). While the registry is unreachable Next keeps blocking: the
	// last snapshot stays the truth until the registry answers again.
	Next(ctx context.Context) ([]Instance, error)
	// Close stops the watch and releases what it holds; Next then returns
	// ErrClosed. It returns after every goroutine of the watch has stopped.
	Close() error
}
