package pool

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/puddle/v2"

	"github.com/longlink/longlink/metrics"
	"github.com/longlink/longlink/rpc"
)

// State is a Pool's readiness, derived from its connections and dials.
type State uint8

const (
	// Idle: nothing dialled yet; the pool is lazy and has not been used.
	Idle State = iota
	// Connecting: no connection is ready and a dial is in progress.
	Connecting
	// Ready: at least one connection takes calls.
	Ready
	// BackingOff: no connection is ready, the last dial failed, and the pool
	// waits before the next (Conn fails fast with ErrUnavailable).
	BackingOff
	// Draining: no connection is ready and one is draining: the provider
	// announced shutdown and its in-flight calls are finishing.
	Draining
	// Closed: the pool's last user released it.
	Closed
)

func (s State) String() string {
	return [...]string{"idle", "connecting", "ready", "backing off", "draining", "closed"}[s]
}

// Pool holds the connections to one provider address. It is safe for
// concurrent use. Its maintainer goroutine (started by Connect or the first
// Conn) dials, leases connections from puddle, evicts and redials; the
// Manager stops it when the pool's last user releases it.
type Pool struct {
	addr   string
	size   int // connections wanted
	opts   *Options
	conn   rpc.ClientOptions // opts.Conn with the pool's hooks; built once
	log    *slog.Logger
	pp     *puddle.Pool[*rpc.Conn]
	ctx    context.Context // dials run under it; ended by close
	cancel context.CancelFunc
	kick   chan struct{} // capacity 1: wakes the maintainer
	exited chan struct{} // closed when the maintainer has returned

	table     atomic.Pointer[[]*rpc.Conn] // ready connections; replaced (never modified) under mu
	rr        atomic.Uint64               // round-robin position
	evictions atomic.Uint64               // connections evicted from the table

	mu        sync.Mutex
	started   bool                                      // guarded by mu: the maintainer runs
	closed    bool                                      // guarded by mu
	leased    map[*rpc.Conn]*puddle.Resource[*rpc.Conn] // guarded by mu: connections held from puddle
	evicted   map[*rpc.Conn]struct{}                    // guarded by mu: leased, out of the table, for the maintainer
	draining  map[*rpc.Conn]struct{}                    // guarded by mu: hijacked from puddle, closing themselves
	retryAt   time.Time                                 // guarded by mu: when backing off, the next dial; else zero
	failures  int                                       // guarded by mu: consecutive failed dials
	lastErr   error                                     // guarded by mu: the last dial error
	changed   chan struct{}                             // guarded by mu: closed and replaced when State may have changed
	counts    struct{ dials, failed, redials uint64 }   // guarded by mu
	lost      int                                       // guarded by mu: evicted connections not yet replaced
	downSince time.Time                                 // guarded by mu: when an eviction last emptied the table
}

func newPool(addr string, size int, opts *Options) *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{
		addr:     addr,
		size:     size,
		opts:     opts,
		log:      opts.Logger.With("addr", addr),
		ctx:      ctx,
		cancel:   cancel,
		kick:     make(chan struct{}, 1),
		exited:   make(chan struct{}),
		leased:   make(map[*rpc.Conn]*puddle.Resource[*rpc.Conn]),
		evicted:  make(map[*rpc.Conn]struct{}),
		draining: make(map[*rpc.Conn]struct{}),
		changed:  make(chan struct{}),
	}
	p.conn = p.connOptions()
	p.table.Store(&[]*rpc.Conn{})
	p.pp, _ = puddle.NewPool(&puddle.Config[*rpc.Conn]{
		Constructor: p.construct,
		Destructor:  func(c *rpc.Conn) { c.Close() },
		MaxSize:     int32(size),
	})
	return p
}

// connOptions returns the options of the pool's connections: the Manager's,
// with the pool's state hook and, when metrics are recorded, a heartbeat
// hook that records each miss before calling the user's own. rpc calls the
// hook after every silent interval, the first of which only makes an idle
// connection ping; a miss is a later one: a ping left unanswered.
func (p *Pool) connOptions() rpc.ClientOptions {
	opts := p.opts.Conn
	opts.OnStateChange = p.onConnState
	if rec := p.opts.Metrics; rec != nil {
		user := opts.OnHeartbeatMissed
		opts.OnHeartbeatMissed = func(c *rpc.Conn, missed int) {
			if missed > 1 {
				rec.HeartbeatMissed(p.addr)
			}
			if user != nil {
				user(c, missed)
			}
		}
	}
	return opts
}

// Addr returns the provider address.
func (p *Pool) Addr() string { return p.addr }

// Conn returns a ready connection, rotating over the pool's connections. If
// none is ready it starts dialling (if not already) and waits for the dial
// or ctx; while the pool is backing off after failed dials it fails at once
// with an *UnavailableError.
func (p *Pool) Conn(ctx context.Context) (*rpc.Conn, error) {
	for {
		if c, ok := p.TryConn(); ok {
			return c, nil
		}
		p.mu.Lock()
		switch {
		case len(*p.table.Load()) > 0:
			p.mu.Unlock()
			continue
		case p.closed:
			p.mu.Unlock()
			return nil, fmt.Errorf("%w: pool for %s", ErrClosed, p.addr)
		case !p.retryAt.IsZero():
			err := p.unavailableLocked()
			p.mu.Unlock()
			return nil, err
		}
		p.startLocked()
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("pool: waiting for a connection to %s: %w", p.addr, ctx.Err())
		}
	}
}

// TryConn returns a ready connection if there is one, without waiting or
// dialling.
func (p *Pool) TryConn() (*rpc.Conn, bool) {
	switch t := *p.table.Load(); len(t) {
	case 0:
		return nil, false
	case 1:
		return t[0], true
	default:
		return t[p.rr.Add(1)%uint64(len(t))], true
	}
}

// Connect starts dialling now instead of at the first Conn.
func (p *Pool) Connect() {
	p.mu.Lock()
	p.startLocked()
	p.mu.Unlock()
}

// State returns the pool's current state.
func (p *Pool) State() State {
	if len(*p.table.Load()) > 0 {
		return Ready
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stateLocked()
}

// Usable reports whether calls should be routed here: a connection is ready,
// or nothing has been tried yet (a lazy pool). A pool that is dialling after
// losing its connections, or backing off, is not usable until a dial succeeds.
func (p *Pool) Usable() bool {
	s := p.State()
	return s == Ready || s == Idle
}

func (p *Pool) stateLocked() State {
	switch {
	case p.closed:
		return Closed
	case len(*p.table.Load()) > 0:
		return Ready
	case p.drainingLocked():
		return Draining
	case !p.retryAt.IsZero():
		return BackingOff
	case p.started:
		return Connecting
	}
	return Idle
}

// drainingLocked reports whether a connection is draining; p.mu must be held.
func (p *Pool) drainingLocked() bool {
	if len(p.draining) > 0 {
		return true
	}
	for c := range p.evicted {
		if c.State() == rpc.StateDraining {
			return true
		}
	}
	return false
}

// Evictions returns how many connections have left the routing table
// because they failed or drained. A change means a connection was lost,
// even if another has already replaced it.
func (p *Pool) Evictions() uint64 { return p.evictions.Load() }

func (p *Pool) unavailableLocked() error {
	return &UnavailableError{Addr: p.addr, Err: p.lastErr, Failures: p.failures, RetryIn: time.Until(p.retryAt)}
}

// startLocked starts the maintainer once; p.mu must be held.
func (p *Pool) startLocked() {
	if p.started || p.closed {
		return
	}
	p.started = true
	p.signalLocked()
	go p.maintain()
}

// signalLocked wakes everyone waiting for a state change; p.mu must be held.
func (p *Pool) signalLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Pool) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// removeLocked takes c out of the routing table; p.mu must be held.
func (p *Pool) removeLocked(c *rpc.Conn) bool {
	old := *p.table.Load()
	for i, x := range old {
		if x == c {
			t := make([]*rpc.Conn, 0, len(old)-1)
			t = append(append(t, old[:i]...), old[i+1:]...)
			p.table.Store(&t)
			return true
		}
	}
	return false
}

func (p *Pool) addLocked(c *rpc.Conn) {
	old := *p.table.Load()
	t := append(append(make([]*rpc.Conn, 0, len(old)+1), old...), c)
	p.table.Store(&t)
}

// onConnState runs on a connection's goroutine when it starts draining or
// closes: it leaves the routing table at once, and the maintainer does the
// rest. It must not block.
func (p *Pool) onConnState(c *rpc.Conn, s rpc.ConnState, err error) {
	p.mu.Lock()
	evicted := false
	if _, ok := p.leased[c]; ok {
		if p.removeLocked(c) {
			evicted = true
			p.evictions.Add(1)
			p.lost++
			if len(*p.table.Load()) == 0 {
				p.downSince = time.Now()
			}
		}
		p.evicted[c] = struct{}{}
	}
	p.signalLocked()
	p.mu.Unlock()
	p.wake()
	if evicted {
		reason := metrics.EvictReasonOf(s, err)
		if reason == metrics.Draining {
			p.log.Info("pool: provider is shutting down; connection draining")
		} else {
			p.log.Warn("pool: connection evicted", "reason", reason.String(), "err", err)
		}
		if rec := p.opts.Metrics; rec != nil {
			rec.ConnEvicted(p.addr, reason)
		}
	}
	if f := p.opts.Conn.OnStateChange; f != nil {
		f(c, s, err)
	}
}

// close stops the pool: no new calls, in-flight calls finish (bounded by
// DrainTimeout), connections close. It returns when all of that is done.
func (p *Pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.table.Store(&[]*rpc.Conn{})
	started := p.started
	p.signalLocked()
	p.mu.Unlock()
	p.cancel()
	if started {
		p.wake()
		<-p.exited
		return
	}
	p.pp.Close()
}
