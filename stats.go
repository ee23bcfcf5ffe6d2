package longlink

import (
	"time"

	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
)

// ProviderStats is one provider as a Client sees it.
type ProviderStats struct {
	Addr     string
	Instance registry.Instance // as last registered
	State    pool.State        // idle, connecting, ready, backing off, draining (closing), closed
	Weight   int               // routing weight now, after warm-up
	InFlight int64             // this client's calls in flight
	Calls    uint64            // this client's calls sent
	Failures uint64            // ... that failed in transport or on a limit
	Pool     pool.Stats        // its connections: with Connections = 0, shared with other clients
}

// ClientStats is a snapshot of a Client.
type ClientStats struct {
	Service   string
	Providers []ProviderStats // by address
	Sticky    string          // the provider calls stick to, if any
}

// Stats returns a snapshot of the client's providers and their connections.
func (c *Client) Stats() ClientStats {
	st := ClientStats{Service: c.service}
	set := c.set.Load()
	if set == nil {
		return st
	}
	now := time.Now()
	for _, ep := range set.eps {
		st.Providers = append(st.Providers, ProviderStats{
			Addr:     ep.addr,
			Instance: ep.info.Load().inst,
			State:    ep.pool.State(),
			Weight:   ep.weight(c.opts.Warmup, now),
			InFlight: ep.inflight.Load(),
			Calls:    ep.calls.Load(),
			Failures: ep.failures.Load(),
			Pool:     ep.pool.Stats(),
		})
	}
	if s := c.sticky.Load(); s != nil {
		st.Sticky = s.ep.addr
	}
	return st
}
