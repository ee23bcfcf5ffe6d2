package longlink

import (
	"log/slog"
	"time"

	"github.com/longlink/longlink/metrics"
	"github.com/longlink/longlink/pool"
)

// Balancer chooses among a service's usable providers.
type Balancer uint8

const (
	// WeightedRandom picks at random in proportion to each provider's weight
	// (registry metadata, after warm-up). Dubbo's "random"; the default.
	WeightedRandom Balancer = iota
	// RoundRobin rotates over providers, smoothly weighted (nginx's
	// algorithm, as Dubbo's "roundrobin").
	RoundRobin
	// LeastActive picks the provider with the fewest of this client's calls
	// in flight; ties are broken by weighted random. Dubbo's "leastactive".
	LeastActive
	// ConsistentHash maps the key given with WithHashKey onto a ring of 160
	// points per provider, so a key keeps its provider while the set
	// stays the same. Calls without a key are weighted random.
	ConsistentHash
)

func (b Balancer) String() string {
	return [...]string{"weighted-random", "round-robin", "least-active", "consistent-hash"}[b]
}

// Cluster is what happens when a call to a provider fails.
type Cluster uint8

const (
	// Failover retries a call that failed in transport (connection lost,
	// heartbeat timeout, provider draining, unavailable or overloaded) on
	// another provider, up to Retries times, never past the call's deadline.
	// Application errors are never retried. The default.
	Failover Cluster = iota
	// Failfast makes one attempt and returns its error.
	Failfast
)

func (c Cluster) String() string { return [...]string{"failover", "failfast"}[c] }

// Defaults applied to zero-valued ClientOptions fields.
const (
	DefaultTimeout = 3 * time.Second
	DefaultRetries = 2
)

// ClientOptions configure a Client. The zero value is ready to use: every
// zero field means the default it documents. The Dubbo or gRPC name of each
// setting is given where there is one.
type ClientOptions struct {
	// Timeout bounds each call whose context has no deadline, retries
	// included. Default 3 s (Dubbo "timeout"). Negative: no bound.
	Timeout time.Duration
	// Cluster: Failover (default) or Failfast (Dubbo "cluster").
	Cluster Cluster
	// Retries is how many more providers a failing call may try under
	// Failover. Default 2 (Dubbo "retries"); negative means none.
	Retries int
	// Balancer: WeightedRandom (default), RoundRobin, LeastActive or
	// ConsistentHash (Dubbo "loadbalance").
	Balancer Balancer
	// Connections per provider: 0 (default) shares one long connection per
	// provider address among every client of the same pool.Manager; N > 0
	// gives this client N connections of its own per provider, rotated
	// (Dubbo "connections").
	Connections int
	// Actives caps this client's concurrent calls per provider per method;
	// a call over the cap waits for a slot until its deadline, then fails
	// with pool.ErrLimitExceeded. Default 0: no cap (Dubbo "actives").
	Actives int
	// Lazy delays dialling a provider until the first call routed to it.
	// Default false: dial as soon as the provider is discovered (Dubbo
	// "lazy").
	Lazy bool
	// Sticky keeps calls on the provider first picked until it is
	// unavailable (gone from the registry, its connection lost, or closing),
	// then picks again and sticks there. Default false (Dubbo "sticky").
	Sticky bool
	// Version and Group select providers registered with exactly that
	// version and group; empty matches only providers registered without
	// one, "*" matches any (Dubbo "version" and "group").
	Version, Group string
	// Warmup ramps a newly started provider's weight up linearly over this
	// period from its registered start time, so that a cold provider is not
	// flooded, for providers that do not announce their own period
	// (ProviderOptions.Warmup; Dubbo "warmup", 10 min there by default).
	// Default 0: off.
	Warmup time.Duration
	// Pool owns the connections. Default pool.Default(), shared by the whole
	// process; give clients their own Manager to keep connections or
	// connection options apart.
	Pool *pool.Manager
	// Logger receives routing decisions worth knowing (retries at debug,
	// providers added and removed at info). Default slog.Default().
	Logger *slog.Logger
	// Interceptors wrap every call, retries included, the first outermost.
	// Default none.
	Interceptors []ClientInterceptor
	// DisableEmptyProtection makes an empty list from the registry drop
	// every provider. By default such a list is ignored while providers are
	// known (Dubbo's "empty protection", on by default in Dubbo 3): a
	// registry that lost its state or answers wrongly must not take every
	// call down, and providers that really died are avoided anyway, since
	// their connections fail and their pools back off. The cost: when the
	// last provider leaves, its connection is kept until one joins.
	DisableEmptyProtection bool
	// Metrics records every call (start, then outcome and latency, outside
	// the Interceptors, so after retries and whatever they changed; see
	// CallOutcome) and every registry snapshot the client applies.
	// Connection metrics (heartbeats, evictions, redials) are the pool's:
	// set pool.Options.Metrics on the Manager in Pool. Default nil: nothing
	// is recorded, at the cost of one nil check per call.
	Metrics metrics.Recorder
}

func (o ClientOptions) withDefaults() ClientOptions {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Cluster == Failfast {
		o.Retries = 0
	}
	if o.Pool == nil {
		o.Pool = pool.Default()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
