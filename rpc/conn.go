package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ConnState is the state of a client connection.
type ConnState uint32

const (
	// StateReady: the connection takes new calls.
	StateReady ConnState = iota
	// StateDraining: the peer announced it is shutting down. New calls fail
	// at once with ErrDraining (they are never sent); calls already sent
	// complete. The connection closes itself once none is left.
	StateDraining
	// StateClosed: the connection failed or was closed; Err says why.
	StateClosed
)

func (s ConnState) String() string {
	switch s {
	case StateReady:
		return "ready"
	case StateDraining:
		return "draining"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("ConnState(%d)", uint32(s))
}

// Conn is a client connection: many calls in flight at once, matched to their
// replies by request id. It is safe for concurrent use.
//
// Three goroutines serve it, started by NewConn and stopped by Close or by the
// first fatal error: a reader (decodes replies, completes calls), a writer
// (writes queued frames, coalescing those queued meanwhile) and a heartbeat
// (pings the peer after a silent interval, declares it dead after
// MaxMissedHeartbeats). The first fatal error wins: every pending call and
// every later call gets it.
type Conn struct {
	nc   net.Conn
	addr string
	opts ClientOptions
	log  *slog.Logger
	fr   *frameReader  // owned by the reader goroutine; fr.reads is atomic
	w    *frameWriter  // safe for concurrent use
	done chan struct{} // closed by fail once pending calls learned err
	wg   sync.WaitGroup

	auth     string // "Bearer <Token>", or empty
	callPool callPool
	nextID   atomic.Uint64
	state    atomic.Uint32 // ConnState; written under mu

	mu       sync.Mutex
	pending  map[uint64]*Call // guarded by mu; nil once the connection failed
	err      error            // guarded by mu; the first fatal error
	drainErr error            // guarded by mu; set when the peer announced closing

	calls    atomic.Uint64 // calls sent
	failures atomic.Uint64 // calls that ended in anything but a result or an application error
	pings    atomic.Uint64 // heartbeat pings sent
	pingSent atomic.Int64  // monotonic ns of the oldest unanswered ping, 0 if none
	rtt      atomic.Int64  // ns, round trip of the last answered ping
}

// Dial connects to addr over TCP and returns a ready connection.
func Dial(ctx context.Context, addr string, opts ClientOptions) (*Conn, error) {
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	var nc net.Conn
	var err error
	if opts.Dial != nil {
		nc, err = opts.Dial(ctx, "tcp", addr)
	} else {
		d := net.Dialer{KeepAlive: -1} // configured below, the same way for custom dialers
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("rpc: dial %s: %w", addr, err)
	}
	setKeepAlive(nc, opts.TCPKeepAlive)
	if opts.TLS != nil {
		cfg := opts.TLS
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("rpc: TLS handshake with %s: %w", addr, err)
		}
		nc = tc
	}
	return newConn(nc, addr, opts), nil
}

// NewConn starts a client connection over nc, which it owns from now on.
func NewConn(nc net.Conn, opts ClientOptions) *Conn {
	return newConn(nc, nc.RemoteAddr().String(), opts.withDefaults())
}

func newConn(nc net.Conn, addr string, opts ClientOptions) *Conn {
	c := &Conn{
		nc:      nc,
		addr:    addr,
		opts:    opts,
		log:     opts.Logger.With("peer", addr),
		fr:      newFrameReader(nc, opts.MaxFrameSize),
		w:       newFrameWriter(nc),
		done:    make(chan struct{}),
		pending: make(map[uint64]*Call),
	}
	if opts.Token != "" {
		c.auth = "Bearer " + opts.Token
	}
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	if opts.HeartbeatInterval > 0 {
		c.wg.Add(1)
		go c.heartbeatLoop()
	}
	c.log.Debug("rpc: connection ready")
	return c
}

// Addr returns the address the connection was dialled to.
func (c *Conn) Addr() string { return c.addr }

// State returns the connection's current state.
func (c *Conn) State() ConnState { return ConnState(c.state.Load()) }

// Done is closed when the connection has failed or been closed, after every
// pending call has completed with the connection's error.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection closed (a *ConnError), or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection. Pending calls fail with ErrClosed. Close
// returns after the connection's goroutines have exited; it must not be
// called from OnStateChange.
func (c *Conn) Close() error {
	c.fail(&ConnError{Addr: c.addr, Reason: ErrClosed})
	c.wg.Wait()
	return nil
}

// Call calls service.method with args and decodes the result into reply (a
// pointer, or nil to discard it). It returns when the reply arrives, the
// connection fails, or ctx ends; then its late reply, if any, is dropped.
// The caller's deadline travels to the server, and so does the metadata set
// with WithMetadata.
func (c *Conn) Call(ctx context.Context, service, method string, args, reply any) error {
	return c.CallUntil(ctx, time.Time{}, service, method, args, reply)
}

// CallUntil is Call with a deadline of its own besides ctx's: the earlier of
// the two applies, on both ends, as if ctx carried it. It spares the caller
// a context.WithDeadline (and its timer and allocations) per call: the
// connection times the call with a timer it reuses. A zero deadline means
// none.
func (c *Conn) CallUntil(ctx context.Context, deadline time.Time, service, method string, args, reply any) error {
	if err := ctx.Err(); err != nil {
		return callError(service, method, err)
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = time.Time{} // ctx's is earlier: its Done channel times the call
	}
	call := c.callPool.get()
	call.Service, call.Method, call.Args, call.Reply = service, method, args, reply
	if err := c.send(ctx, deadline, call); err != nil {
		c.callPool.put(call)
		return err
	}
	var expired <-chan time.Time
	if !deadline.IsZero() {
		if call.timer == nil {
			call.timer = time.NewTimer(time.Until(deadline))
		} else {
			call.timer.Reset(time.Until(deadline))
		}
		expired = call.timer.C
	}
	var err error
	select {
	case <-call.sig:
	case <-ctx.Done():
		err = ctx.Err()
	case <-expired:
		err = context.DeadlineExceeded
	}
	if expired != nil {
		call.timer.Stop()
	}
	if err != nil {
		if c.abandon(call) {
			c.callPool.put(call)
			c.failures.Add(1)
			return callError(service, method, err)
		}
		<-call.sig // the reader got there first and is completing the call
	}
	err = call.Error
	c.callPool.put(call)
	return err
}

// Go starts a call and returns at once; the call is sent on done (or on a new
// channel of capacity 1 if done is nil) when it completes. done must be
// buffered. Canceling ctx completes the call at once with ctx's error.
func (c *Conn) Go(ctx context.Context, service, method string, args, reply any, done chan *Call) *Call {
	if done == nil {
		done = make(chan *Call, 1)
	} else if cap(done) == 0 {
		panic("rpc: Go with an unbuffered done channel")
	}
	call := &Call{Service: service, Method: method, Args: args, Reply: reply, Done: done}
	if ctx.Done() != nil {
		call.stop = context.AfterFunc(ctx, func() {
			if c.abandon(call) {
				c.failures.Add(1)
				call.Error = callError(service, method, ctx.Err())
				call.complete()
			}
		})
	}
	if err := ctx.Err(); err != nil {
		call.Error = callError(service, method, err)
		call.complete()
		return call
	}
	if err := c.send(ctx, time.Time{}, call); err != nil {
		call.Error = err
		call.complete()
		return call
	}
	// A ctx that ended before the call was registered found nothing to abandon.
	if ctx.Err() != nil && c.abandon(call) {
		call.Error = callError(service, method, ctx.Err())
		call.complete()
	}
	return call
}

// send registers call and queues its request frame. The call's deadline is
// the earlier of ctx's and deadline (zero: none).
func (c *Conn) send(ctx context.Context, deadline time.Time, call *Call) error {
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	var timeout time.Duration
	if !deadline.IsZero() {
		if timeout = time.Until(deadline); timeout <= 0 {
			return callError(call.Service, call.Method, context.DeadlineExceeded)
		}
	}
	id := c.nextID.Add(1)
	e := getEncoder()
	defer putEncoder(e)
	if err := e.appendRequest(id, call.Service, call.Method, timeout, OutgoingMetadata(ctx), c.auth, call.Args); err != nil {
		return err
	}
	if n := len(e.b) - headerLen; n > c.opts.MaxFrameSize {
		return fmt.Errorf("%w: request body of %d bytes exceeds the limit of %d", ErrFrameTooLarge, n, c.opts.MaxFrameSize)
	}
	call.id = id
	c.mu.Lock()
	if err := c.errLocked(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.pending[id] = call
	c.mu.Unlock()
	c.calls.Add(1)
	// If the writer has stopped the connection is failing, and fail
	// completes the call with the connection's error.
	_ = c.w.enqueue(e.b)
	return nil
}

// errLocked returns why no new call may start, if so; c.mu must be held.
func (c *Conn) errLocked() error {
	if c.err != nil {
		return c.err
	}
	return c.drainErr
}

// abandon removes call from the pending calls if it is still there, and
// reports whether it did; then no goroutine of the connection will touch it.
func (c *Conn) abandon(call *Call) bool {
	c.mu.Lock()
	if c.pending[call.id] != call {
		c.mu.Unlock()
		return false
	}
	delete(c.pending, call.id)
	drained := c.drainErr != nil && len(c.pending) == 0
	c.mu.Unlock()
	if drained {
		c.fail(c.drainErr)
	}
	return true
}

func (c *Conn) readLoop() {
	defer c.wg.Done()
	for {
		h, body, err := c.fr.next()
		if err != nil {
			c.fail(c.readError(err))
			return
		}
		switch h.kind {
		case kindResponse:
			c.complete(h, body)
		case kindPong:
			if sent := c.pingSent.Swap(0); sent != 0 {
				c.rtt.Store(nanotime() - sent)
			}
			c.complete(h, nil) // completes a Ping, if this answers one
		case kindPing:
			var b [headerLen]byte
			_ = c.w.enqueue(appendPong(b[:0], h.id))
		case kindClosing:
			c.drain(true)
		default:
			c.fail(c.readError(protocolErrorf("the server sent a request")))
			return
		}
	}
}

// complete hands a response to its pending call. A response nobody waits
// for any more (the call was abandoned) is dropped.
func (c *Conn) complete(h header, body []byte) {
	c.mu.Lock()
	call := c.pending[h.id]
	if call == nil {
		c.mu.Unlock()
		return
	}
	delete(c.pending, h.id)
	drained := c.drainErr != nil && len(c.pending) == 0
	c.mu.Unlock()
	if h.kind == kindResponse {
		call.Error = decodeResponse(h.status, body, call.Reply)
	}
	c.countOutcome(call.Error)
	call.complete()
	if drained {
		c.fail(c.drainErr)
	}
}

func (c *Conn) countOutcome(err error) {
	if err == nil {
		return
	}
	if re, ok := err.(*RemoteError); ok && re.Status == StatusApplication {
		return
	}
	c.failures.Add(1)
}

// Ping sends a heartbeat ping and waits for its pong: one round trip through
// the peer's reader and writer, without running any handler. It returns the
// round-trip time.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	call := c.callPool.get()
	defer c.callPool.put(call)
	call.id = c.nextID.Add(1)
	c.mu.Lock()
	if err := c.errLocked(); err != nil {
		c.mu.Unlock()
		return 0, err
	}
	c.pending[call.id] = call
	c.mu.Unlock()
	start := nanotime()
	var b [headerLen]byte
	_ = c.w.enqueue(appendPing(b[:0], call.id))
	select {
	case <-call.sig:
	case <-ctx.Done():
		if c.abandon(call) {
			return 0, fmt.Errorf("rpc: ping %s: %w", c.addr, ctx.Err())
		}
		<-call.sig
	}
	return time.Duration(nanotime() - start), call.Error
}

// Drain stops new calls on the connection (they fail at once with
// ErrDraining, unsent) and closes it once every pending call has completed.
// It returns at once; Done is closed when the connection has closed.
func (c *Conn) Drain() { c.drain(false) }

// drain handles the peer's closing announcement (remote) or Drain.
func (c *Conn) drain(remote bool) {
	c.mu.Lock()
	if c.err != nil || c.drainErr != nil {
		c.mu.Unlock()
		return
	}
	c.drainErr = &ConnError{Addr: c.addr, Reason: ErrDraining}
	c.state.Store(uint32(StateDraining))
	drained := len(c.pending) == 0
	c.mu.Unlock()
	if remote {
		c.log.Debug("rpc: peer is shutting down; draining")
	}
	if f := c.opts.OnStateChange; f != nil {
		f(c, StateDraining, nil)
	}
	if drained {
		c.fail(c.drainErr)
	}
}

func (c *Conn) writeLoop() {
	defer c.wg.Done()
	if err := c.w.run(c.done); err != nil {
		c.fail(&ConnError{Addr: c.addr, Reason: ErrConnLost, Err: err})
	}
}

// readError turns a read failure into the connection's error.
func (c *Conn) readError(err error) error {
	switch {
	case errors.Is(err, ErrProtocol):
		return &ConnError{Addr: c.addr, Reason: ErrProtocol, Err: err}
	case errors.Is(err, ErrFrameTooLarge):
		return &ConnError{Addr: c.addr, Reason: ErrFrameTooLarge, Err: err}
	case err == io.EOF:
		return &ConnError{Addr: c.addr, Reason: ErrConnLost, Err: errors.New("closed by peer")}
	}
	return &ConnError{Addr: c.addr, Reason: ErrConnLost, Err: err}
}

// fail closes the connection with err unless it already failed: the first
// error wins, and every pending call completes with it.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	c.state.Store(uint32(StateClosed))
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()

	c.w.stop(err)
	_ = c.nc.Close()
	for _, call := range pending {
		call.Error = err
		c.failures.Add(1)
		call.complete()
	}
	var ce *ConnError
	if errors.As(err, &ce) && (ce.Reason == ErrClosed || ce.Reason == ErrDraining) {
		c.log.Debug("rpc: connection closed", "reason", err)
	} else {
		c.log.Warn("rpc: connection failed", "err", err, "failed_calls", len(pending))
	}
	if f := c.opts.OnStateChange; f != nil {
		f(c, StateClosed, err)
	}
	close(c.done)
}

func callError(service, method string, err error) error {
	return fmt.Errorf("rpc: call %s.%s: %w", service, method, err)
}
