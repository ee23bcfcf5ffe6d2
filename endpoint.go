package longlink

import (
	"sync/atomic"
	"time"

	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
)

// endpoint is one provider as one Client sees it: the pool of connections to
// its address (shared or not), this client's actives limiter and counters.
type endpoint struct {
	addr    string
	pool    *pool.Pool
	release func() // gives the pool back to the Manager
	actives *pool.Actives

	info    atomic.Pointer[providerInfo] // from the latest registration
	removed atomic.Bool                  // left the registry

	inflight atomic.Int64  // this client's calls in flight
	calls    atomic.Uint64 // this client's calls sent
	failures atomic.Uint64 // ... that ended in a transport or limit error

	rrCurrent int // smooth round-robin state; guarded by Client.rrMu
}

// usable reports whether routing should consider the endpoint.
func (e *endpoint) usable() bool { return !e.removed.Load() && e.pool.Usable() }

// providerInfo is what the registry says of a provider, parsed once.
type providerInfo struct {
	inst   registry.Instance
	weight int           // registered weight, default applied
	warmup time.Duration // announced under MetaWarmup; 0 if none
}

func newProviderInfo(inst registry.Instance) *providerInfo {
	info := &providerInfo{inst: inst, weight: inst.Weight}
	if info.weight <= 0 {
		info.weight = registry.DefaultWeight
	}
	if d, err := time.ParseDuration(inst.Meta[MetaWarmup]); err == nil && d > 0 {
		info.warmup = d
	}
	return info
}

// weight returns the routing weight at now: the registered weight, ramped
// up linearly over the warm-up period (the provider's announced one, else
// fallback) from the provider's start.
func (e *endpoint) weight(fallback time.Duration, now time.Time) int {
	info := e.info.Load()
	warmup := info.warmup
	if warmup == 0 {
		warmup = fallback
	}
	if warmup <= 0 || info.inst.StartedAt.IsZero() {
		return info.weight
	}
	up := now.Sub(info.inst.StartedAt)
	switch {
	case up >= warmup:
		return info.weight
	case up <= 0:
		return 1
	}
	return max(1, int(int64(info.weight)*int64(up)/int64(warmup)))
}

// endpointSet is one snapshot of a service's providers.
type endpointSet struct {
	eps  []*endpoint // ordered by address
	ring atomic.Pointer[hashRing]
}
