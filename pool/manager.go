package pool

import (
	"sync"
)

// Manager hands out Pools by provider address and owns them: shared pools
// (one connection per address for all its users) and dedicated ones. It is
// safe for concurrent use.
type Manager struct {
	opts Options

	mu     sync.Mutex
	shared map[string]*sharedPool // guarded by mu: by address
	open   map[*Pool]struct{}     // guarded by mu: every pool not yet released
	closed bool                   // guarded by mu
}

type sharedPool struct {
	p    *Pool
	refs int // guarded by Manager.mu
}

// NewManager returns a Manager with no pools.
func NewManager(opts Options) *Manager {
	return &Manager{
		opts:   opts.withDefaults(),
		shared: make(map[string]*sharedPool),
		open:   make(map[*Pool]struct{}),
	}
}

var defaultManager = sync.OnceValue(func() *Manager { return NewManager(Options{}) })

// Default returns the process-wide Manager, with default Options. Every
// client that uses it shares one connection per provider address.
func Default() *Manager { return defaultManager() }

// Acquire returns the pool for addr and a release function to call exactly
// once when done with it (later calls do nothing). With connections <= 0 the
// pool is the one shared by all users of m for addr; with connections > 0 it
// is a new pool of that many connections for this caller alone. No dial
// starts until Connect or the first Conn.
//
// The release that drops a pool's last user drains and closes it: it returns
// once the pool's in-flight calls have finished (at most DrainTimeout) and
// its goroutine has stopped. After Close, Acquire returns a closed pool.
func (m *Manager) Acquire(addr string, connections int) (*Pool, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		p := newPool(addr, 1, &m.opts)
		p.close()
		return p, func() {}
	}
	if connections > 0 {
		p := newPool(addr, connections, &m.opts)
		m.open[p] = struct{}{}
		return p, sync.OnceFunc(func() { m.release(p, nil) })
	}
	sp := m.shared[addr]
	if sp == nil {
		sp = &sharedPool{p: newPool(addr, 1, &m.opts)}
		m.shared[addr] = sp
		m.open[sp.p] = struct{}{}
	}
	sp.refs++
	return sp.p, sync.OnceFunc(func() { m.release(sp.p, sp) })
}

// release drops one user of p, closing p if it was the last.
func (m *Manager) release(p *Pool, sp *sharedPool) {
	m.mu.Lock()
	if sp != nil {
		if sp.refs--; sp.refs > 0 {
			m.mu.Unlock()
			return
		}
		if m.shared[p.addr] == sp {
			delete(m.shared, p.addr)
		}
	}
	delete(m.open, p)
	m.mu.Unlock()
	p.close()
}

// Close closes every pool the Manager holds, draining them in parallel, and
// returns when all have closed. Releases after Close do nothing.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	pools := make([]*Pool, 0, len(m.open))
	for p := range m.open {
		pools = append(pools, p)
	}
	clear(m.open)
	clear(m.shared)
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range pools {
		wg.Go(p.close)
	}
	wg.Wait()
}

// Stats returns a snapshot of every open pool.
func (m *Manager) Stats() []Stats {
	m.mu.Lock()
	pools := make([]*Pool, 0, len(m.open))
	for p := range m.open {
		pools = append(pools, p)
	}
	m.mu.Unlock()
	out := make([]Stats, 0, len(pools))
	for _, p := range pools {
		out = append(out, p.Stats())
	}
	return out
}
