package faultnet

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Proxy. The zero value is ready to use.
type Options struct {
	// DialTimeout bounds each dial to the target; zero means 5 seconds.
	DialTimeout time.Duration
}

// Stats is a snapshot of a Proxy's counters.
type Stats struct {
	Open           int64 // proxied connections accepted and not yet torn down
	Accepted       int64 // client connections accepted, refused ones included
	Refused        int64 // connections reset at once: SetRefuse was on, or dialling the target failed
	ClientToTarget int64 // bytes written to target sockets
	TargetToClient int64 // bytes written to client sockets
	Discarded      int64 // bytes read and dropped in Blackhole mode, both directions
}

type mode uint8

const (
	modePass mode = iota
	modeFreeze
	modeBlackhole
	modeDelay
)

// stops reports whether m forbids writing to either socket.
func (m mode) stops() bool { return m == modeFreeze || m == modeBlackhole }

// A Proxy forwards TCP connections from a loopback address to a target,
// injecting the faults its methods select. A new Proxy is in Pass mode and
// accepts connections. Modes apply at once to existing and new connections.
type Proxy struct {
	target string
	dialer net.Dialer
	ln     net.Listener
	ctx    context.Context // cancelled by Close; aborts dials
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the proxy started

	mu      sync.Mutex
	idle    sync.Cond     // on mu; broadcast when writers drops to zero
	changed chan struct{} // closed and replaced at every mode change
	mode    mode
	delay   time.Duration
	writers int // copiers inside a socket Write
	refuse  bool
	closed  bool
	pairs   map[*pair]struct{}

	open, accepted, refused atomic.Int64
	c2t, t2c, discarded     atomic.Int64
}

// Listen starts a proxy on a free port of 127.0.0.1 that forwards every
// connection it accepts to target (host:port), dialled anew per connection.
func Listen(target string, opts Options) (*Proxy, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		target:  target,
		dialer:  net.Dialer{Timeout: opts.DialTimeout, KeepAlive: -1},
		ln:      ln,
		ctx:     ctx,
		cancel:  cancel,
		changed: make(chan struct{}),
		pairs:   make(map[*pair]struct{}),
	}
	p.idle.L = &p.mu
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the proxy's listening address, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Pass forwards bytes in both directions, first any that Freeze or Delay held.
func (p *Proxy) Pass() { p.setMode(modePass, 0) }

// Freeze stops forwarding in both directions while both sockets stay open and
// new connections are still accepted (and dialled): a hung peer. The proxy
// stops reading, so bytes pile up in kernel buffers and senders eventually
// block. When Freeze returns no further byte is written to any socket until
// the mode changes; bytes read but not yet written are held, not lost.
func (p *Proxy) Freeze() { p.setMode(modeFreeze, 0) }

// Blackhole reads and drops every byte in both directions, end of stream and
// read errors included, while the sockets look alive. Unlike real packet
// loss nothing is retransmitted: dropped bytes are gone for good, so after
// Pass the stream an application sees has a hole in it. Bytes held by Freeze
// or Delay are dropped too. When Blackhole returns no further byte is written.
func (p *Proxy) Blackhole() { p.setMode(modeBlackhole, 0) }

// Delay forwards each chunk d after the proxy read it, preserving order; the
// delay is latency, not a throughput limit, though a direction holds at most
// 1 MiB at a time and stops reading beyond that. Changing d applies to chunks
// already held. Delay(0) behaves as Pass.
func (p *Proxy) Delay(d time.Duration) { p.setMode(modeDelay, d) }

// SetRefuse(true) makes the proxy reset every connection it accepts from now
// on at once, without dialling the target: a target that is down. The client
// sees ECONNRESET: on its first read, as the kernel completes the handshake
// before the proxy accepts, or from its dial if the reset arrives first. SetRefuse(false) accepts again. Existing connections are
// untouched.
func (p *Proxy) SetRefuse(on bool) {
	p.mu.Lock()
	p.refuse = on
	p.mu.Unlock()
}

// ResetAll aborts every current connection with a TCP RST on both sides
// (SO_LINGER 0, then close) and returns how many it aborted.
func (p *Proxy) ResetAll() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for pr := range p.pairs {
		if !pr.closed {
			pr.closeLocked(true)
			n++
		}
	}
	return n
}

// Stats returns a snapshot of the proxy's counters.
func (p *Proxy) Stats() Stats {
	return Stats{
		Open:           p.open.Load(),
		Accepted:       p.accepted.Load(),
		Refused:        p.refused.Load(),
		ClientToTarget: p.c2t.Load(),
		TargetToClient: p.t2c.Load(),
		Discarded:      p.discarded.Load(),
	}
}

// Close stops accepting, closes every connection as a process exit would
// (FIN, or RST where unread bytes remain) and returns once every goroutine
// the proxy started has exited. Later calls wait likewise and return nil.
func (p *Proxy) Close() error {
	var err error
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.cancel()
		err = p.ln.Close()
		for pr := range p.pairs {
			pr.closeLocked(false)
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) setMode(m mode, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.delay = m, d
	close(p.changed)
	p.changed = make(chan struct{})
	for pr := range p.pairs {
		pr.pokeLocked(m.stops())
	}
	// Poked writers return at once; none starts while the mode stops traffic.
	for m.stops() && p.mode.stops() && p.writers > 0 {
		p.idle.Wait()
	}
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			// A transient failure such as EMFILE: back off briefly.
			t := time.NewTimer(10 * time.Millisecond)
			select {
			case <-p.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		client := c.(*net.TCPConn)
		p.accepted.Add(1)
		p.mu.Lock()
		switch {
		case p.closed:
			p.mu.Unlock()
			closeConn(client, false)
			return
		case p.refuse:
			p.mu.Unlock()
			p.refused.Add(1)
			closeConn(client, true)
			continue
		}
		pr := &pair{p: p, client: client, done: make(chan struct{}), live: 1}
		p.pairs[pr] = struct{}{}
		p.open.Add(1)
		p.wg.Add(1)
		p.mu.Unlock()
		go pr.serve()
	}
}

// closeConn closes c, with a RST instead of a FIN if rst.
func closeConn(c *net.TCPConn, rst bool) {
	if rst {
		_ = c.SetLinger(0)
	}
	_ = c.Close()
}
