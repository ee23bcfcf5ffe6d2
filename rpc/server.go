package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves registered services on any number of listeners.
//
// Goroutines: one accept loop per Serve call (the caller's), one reader and
// one writer per connection, one housekeeper, and worker goroutines that
// run requests (one per request running, kept for reuse while requests keep
// coming). Close stops them all and returns after they have exited.
type Server struct {
	opts     ServerOptions
	log      *slog.Logger
	services atomic.Pointer[map[string]*service] // copy-on-write
	regMu    sync.Mutex                          // serializes Register

	ctx    context.Context // parent of every connection's context; ended by Close
	cancel context.CancelFunc
	tasks  chan task // unbuffered: requests handed to idle workers

	spareWorkers atomic.Int64 // workers waiting for a task

	mu           sync.Mutex
	listeners    map[net.Listener]struct{} // guarded by mu
	conns        map[*serverConn]struct{}  // guarded by mu
	connsChanged chan struct{}             // guarded by mu; closed and replaced when a connection goes
	shuttingDown bool                      // guarded by mu; Shutdown began
	closed       bool                      // guarded by mu; Close began: nothing new starts
	housekeeping bool                      // guarded by mu; the housekeeper runs

	loops    sync.WaitGroup // Serve loops, connection readers and writers, workers, the housekeeper
	handlers sync.WaitGroup // running requests; added only by readers
}

// NewServer returns a server with no services and no listeners.
func NewServer(opts ServerOptions) *Server {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:         opts,
		log:          opts.Logger,
		ctx:          ctx,
		cancel:       cancel,
		listeners:    make(map[net.Listener]struct{}),
		conns:        make(map[*serverConn]struct{}),
		connsChanged: make(chan struct{}),
		tasks:        make(chan task),
	}
	s.services.Store(&map[string]*service{})
	return s
}

// Register publishes rcvr's methods under the name of its type; see
// RegisterName.
func (s *Server) Register(rcvr any) error { return s.RegisterName("", rcvr) }

// RegisterName publishes rcvr's exported methods as name.Method. Every
// exported method must be shaped
//
//	func (t *T) Method(ctx context.Context, arg *Arg) (*Reply, error)
//
// (arg and reply may be any encodable types); otherwise RegisterName fails
// and names the methods of other shapes. Registering a name again replaces
// the earlier service for new requests.
func (s *Server) RegisterName(name string, rcvr any) error {
	svc, err := newService(name, rcvr)
	if err != nil {
		return err
	}
	s.regMu.Lock()
	defer s.regMu.Unlock()
	old := *s.services.Load()
	next := make(map[string]*service, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[svc.name] = svc
	s.services.Store(&next)
	return nil
}

// Services returns the names of the registered services, sorted.
func (s *Server) Services() []string {
	names := make([]string, 0, len(*s.services.Load()))
	for name := range *s.services.Load() {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Serve accepts connections on ln until Shutdown or Close, and then returns
// ErrServerClosed. Any other accept error that is not temporary ends Serve
// and is returned. Serve closes ln on return.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed || s.shuttingDown {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.loops.Add(1)
	s.startHousekeeperLocked()
	s.mu.Unlock()
	defer s.loops.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.stopping() {
				return ErrServerClosed
			}
			var te interface{ Temporary() bool }
			if !errors.As(err, &te) || !te.Temporary() {
				return err
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("rpc: accept failed; retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
			}
			continue
		}
		backoff = 0
		s.addConn(nc)
	}
}

func (s *Server) stopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed || s.shuttingDown
}

// ServeConn serves one already established connection (from a listener of
// the caller's, net.Pipe, or a TLS handshake done elsewhere) in the
// background, until it or the server closes. The server owns nc from now on.
func (s *Server) ServeConn(nc net.Conn) {
	s.mu.Lock()
	s.startHousekeeperLocked()
	s.mu.Unlock()
	s.addConn(nc)
}

// startHousekeeperLocked starts the housekeeper once; s.mu must be held.
func (s *Server) startHousekeeperLocked() {
	if !s.housekeeping && !s.closed {
		s.housekeeping = true
		s.loops.Add(1)
		go s.housekeep()
	}
}

// addConn starts serving nc unless the server is closing or full.
func (s *Server) addConn(nc net.Conn) {
	setKeepAlive(nc, s.opts.TCPKeepAlive)
	if _, ok := nc.(*tls.Conn); !ok && s.opts.TLS != nil {
		nc = tls.Server(nc, s.opts.TLS)
	}
	sc := newServerConn(s, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	if max := s.opts.MaxConnections; max > 0 && len(s.conns) >= max {
		s.mu.Unlock()
		s.log.Warn("rpc: connection limit reached; closing a new connection", "peer", sc.peer, "max", max)
		_ = nc.Close()
		return
	}
	s.conns[sc] = struct{}{}
	s.loops.Add(2)
	draining := s.shuttingDown
	s.mu.Unlock()
	go sc.readLoop()
	go sc.writeLoop()
	if draining {
		sc.announceClosing()
	}
}

func (s *Server) removeConn(sc *serverConn) {
	s.mu.Lock()
	delete(s.conns, sc)
	close(s.connsChanged)
	s.connsChanged = make(chan struct{})
	s.mu.Unlock()
}

// Shutdown stops the server gracefully: it stops accepting, announces
// "closing" on every connection (clients then send no new calls there), waits
// until every client has finished its calls and closed its connection, and
// then closes the server. If ctx ends first, Shutdown closes the server at
// once (as Close) and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.Close()
	}
	s.shuttingDown = true
	lns, conns := s.snapshot()
	s.mu.Unlock()
	for _, ln := range lns {
		_ = ln.Close()
	}
	for _, sc := range conns {
		sc.announceClosing()
	}
	check := time.NewTicker(drainIdle / 4)
	defer check.Stop()
	for {
		s.mu.Lock()
		n, changed := len(s.conns), s.connsChanged
		s.mu.Unlock()
		if n == 0 {
			return s.Close()
		}
		select {
		case <-changed:
		case now := <-check.C:
			s.closeGoneClients(now)
		case <-ctx.Done():
			s.log.Warn("rpc: shutdown deadline passed; closing connections", "connections", n)
			_ = s.Close()
			return ctx.Err()
		}
	}
}

// drainIdle: during Shutdown, a connection with no request running that has
// sent nothing for this long after "closing" was announced is closed. A live
// client with nothing in flight hangs up as soon as it hears "closing", so
// such a connection's client is gone (its FIN lost, or the path dead); a
// request it might still send fails as a retryable transport error.
const drainIdle = time.Second

// closeGoneClients closes, during Shutdown, connections whose clients have
// evidently gone away; see drainIdle.
func (s *Server) closeGoneClients(now time.Time) {
	var gone []*serverConn
	s.mu.Lock()
	for sc := range s.conns {
		if r := sc.fr.reads.Load(); sc.drainSince.IsZero() || r != sc.drainReads || sc.inflight.Load() > 0 {
			sc.drainReads, sc.drainSince = r, now
		} else if now.Sub(sc.drainSince) >= drainIdle {
			gone = append(gone, sc)
		}
	}
	s.mu.Unlock()
	for _, sc := range gone {
		sc.close(errClientGone)
	}
}

var errClientGone = errors.New("client silent since shutdown was announced")

// Close stops the server at once: listeners and connections close, running
// handlers see their contexts cancelled. It returns after every goroutine
// of the server, handlers included, has returned.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	lns, conns := s.snapshot()
	s.mu.Unlock()
	for _, ln := range lns {
		_ = ln.Close()
	}
	// Connections close (their writers stop) before handlers see their
	// contexts end, so that no handler's "context canceled" reaches a
	// client as an application error: clients see the connection lost,
	// which they may retry elsewhere.
	for _, sc := range conns {
		sc.close(ErrServerClosed)
	}
	s.cancel()
	s.loops.Wait() // readers are gone: no handler starts after this
	s.handlers.Wait()
	return nil
}

// snapshot returns the listeners and connections; s.mu must be held.
func (s *Server) snapshot() ([]net.Listener, []*serverConn) {
	lns := make([]net.Listener, 0, len(s.listeners))
	for ln := range s.listeners {
		lns = append(lns, ln)
	}
	conns := make([]*serverConn, 0, len(s.conns))
	for sc := range s.conns {
		conns = append(conns, sc)
	}
	return lns, conns
}

// housekeep closes connections that have sent nothing for IdleTimeout and
// retires spare workers. It looks every quarter of IdleTimeout (at least
// every quarter of workerIdle), so a silent connection is closed between
// IdleTimeout and 1.25 IdleTimeout after its last byte.
func (s *Server) housekeep() {
	defer s.loops.Done()
	every := workerIdle / 4
	if s.opts.IdleTimeout > 0 {
		every = max(min(every, s.opts.IdleTimeout/4), time.Millisecond)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var (
		idle    []*serverConn
		workers workerRetirement
	)
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			s.retireSpare(&workers, now)
			if s.opts.IdleTimeout <= 0 {
				continue
			}
			idle = idle[:0]
			s.mu.Lock()
			for sc := range s.conns {
				if r := sc.fr.reads.Load(); r != sc.seenReads {
					sc.seenReads, sc.silentSince = r, now
				} else if now.Sub(sc.silentSince) >= s.opts.IdleTimeout {
					idle = append(idle, sc)
				}
			}
			s.mu.Unlock()
			for _, sc := range idle {
				sc.close(errIdle)
			}
		}
	}
}

var errIdle = errors.New("idle timeout")
