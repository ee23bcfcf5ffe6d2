package longlink

// Sticky routing (ClientOptions.Sticky): calls stay on the provider first
// picked until it is unavailable, then move to a newly picked one and stay
// there. A provider is unavailable once it has left the registry, lost its
// connection (even if the pool has already redialled: the connection the
// calls stuck to is gone), announced that it is closing, or failed a call in
// a way that failover retries.

// stickyChoice is the provider calls stick to, with the pool's eviction count
// when it was chosen.
type stickyChoice struct {
	ep        *endpoint
	evictions uint64
}

// stuck returns the sticky provider if it is still available and not in
// tried, else nil.
func (c *Client) stuck(tried []*endpoint) *endpoint {
	if !c.opts.Sticky {
		return nil
	}
	s := c.sticky.Load()
	if s == nil || !s.ep.usable() || s.ep.pool.Evictions() != s.evictions {
		return nil
	}
	for _, t := range tried {
		if t == s.ep {
			return nil
		}
	}
	return s.ep
}

// stick makes ep the sticky provider after a successful call, unless calls
// already stick to it.
func (c *Client) stick(ep *endpoint) {
	if !c.opts.Sticky {
		return
	}
	if s := c.sticky.Load(); s != nil && s.ep == ep && ep.pool.Evictions() == s.evictions {
		return
	}
	c.sticky.Store(&stickyChoice{ep: ep, evictions: ep.pool.Evictions()})
}

// unstick forgets ep as the sticky provider after a retryable failure.
func (c *Client) unstick(ep *endpoint) {
	if s := c.sticky.Load(); s != nil && s.ep == ep {
		c.sticky.CompareAndSwap(s, nil)
	}
}
