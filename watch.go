package longlink

import (
	"cmp"
	"slices"

	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
)

// watch follows the registry until Close.
func (c *Client) watch() {
	defer c.wg.Done()
	for {
		insts, err := c.watcher.Next(c.ctx)
		if err != nil {
			return // closed
		}
		c.apply(insts)
	}
}

// apply makes a registry snapshot the client's provider set: new providers
// get an endpoint (and, unless lazy, a dial), departed ones are released in
// the background, which drains and closes their connections and stops any
// redialling.
func (c *Client) apply(insts []registry.Instance) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if len(insts) == 0 && len(c.byAddr) > 0 && !c.opts.DisableEmptyProtection {
		known := len(c.byAddr)
		c.mu.Unlock()
		c.log.Warn("longlink: the registry lists no provider; keeping the last known ones (empty protection)", "providers", known)
		return
	}
	next := make(map[string]*endpoint, len(insts))
	var added []string
	for _, inst := range insts {
		if !matches(c.opts.Version, inst.Version) || !matches(c.opts.Group, inst.Group) {
			continue
		}
		addr := inst.Addr()
		if _, dup := next[addr]; dup {
			continue
		}
		ep := c.byAddr[addr]
		if ep == nil {
			ep = c.newEndpoint(addr)
			added = append(added, addr)
		}
		ep.info.Store(newProviderInfo(inst))
		next[addr] = ep
	}
	var gone []*endpoint
	for addr, ep := range c.byAddr {
		if next[addr] == nil {
			gone = append(gone, ep)
		}
	}
	set := &endpointSet{}
	for _, ep := range next {
		set.eps = append(set.eps, ep)
	}
	slices.SortFunc(set.eps, func(a, b *endpoint) int { return cmp.Compare(a.addr, b.addr) })
	c.byAddr = next
	c.set.Store(set)
	c.mu.Unlock()
	if rec := c.opts.Metrics; rec != nil {
		rec.RegistryUpdate(c.service, len(set.eps))
	}

	select {
	case <-c.ready:
	default:
		close(c.ready) // only this goroutine closes it
	}
	for _, ep := range gone {
		ep.removed.Store(true)
		c.log.Info("longlink: provider left", "addr", ep.addr)
		c.wg.Go(ep.release)
	}
	if len(added) > 0 {
		c.log.Info("longlink: providers joined", "addrs", added, "providers", len(set.eps))
	}
}

// newEndpoint acquires the connections to addr; c.mu must be held.
func (c *Client) newEndpoint(addr string) *endpoint {
	p, release := c.opts.Pool.Acquire(addr, c.opts.Connections)
	ep := &endpoint{addr: addr, pool: p, release: release, actives: pool.NewActives(c.opts.Actives)}
	connectUnlessLazy(ep, c.opts.Lazy)
	return ep
}

// matches reports whether a provider's version or group is the one asked
// for: equal, or anything when asked for "*".
func matches(want, got string) bool { return want == "*" || want == got }
