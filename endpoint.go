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

	inst    atomic.Pointer[registry.Instance] // the latest registration
	removed atomic.Bool                       // left the registry

	inflight atomic.Int64  // this client's calls in flight
	calls    atomic.Uint64 // this client's calls sent
	failures atomic.Uint64 // ... that ended in a transport or limit error

	rrCurrent int // smooth round-robin state; guarded by Client.rrMu
}

// usable reports whether routing should consider the endpoint.
func (e *endpoint) usable() bool { return !e.removed.Load() && e.pool.Usable() }

// weight returns the routing weight, ramped up during warm-up.
func (e *endpoint) weight(warmup time.Duration, now time.Time) int {
	inst := e.inst.Load()
	w := inst.Weight
	if w <= 0 {
		w = registry.DefaultWeight
	}
	if warmup <= 0 || inst.StartedAt.IsZero() {
		return w
	}
	up := now.Sub(inst.StartedAt)
	if up >= warmup {
		return w
	}
	if up <= 0 {
		return 1
	}
	return max(1, int(int64(w)*int64(up)/int64(warmup)))
}

// endpointSet is one snapshot of a service's providers.
type endpointSet struct {
	eps  []*endpoint // ordered by address
	ring atomic.Pointer[hashRing]
}
