package faultnet

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

const (
	chunkSize  = 32 << 10 // bytes a copier reads at once
	maxPending = 1 << 20  // bytes a copier holds before it stops reading (Delay)
)

// aLongTimeAgo is a deadline in the past: setting it makes a blocked socket
// call return at once with a timeout ("poking" it).
var aLongTimeAgo = time.Unix(1, 0)

// A pair is one proxied connection: a client socket, the target socket
// dialled for it, and one copier per direction. The serve goroutine dials and
// then runs the client-to-target copier; a second goroutine runs the other.
type pair struct {
	p      *Proxy
	client *net.TCPConn
	done   chan struct{} // closed when the sockets are closed

	// Guarded by p.mu.
	target   *net.TCPConn // nil until dialled
	up, down *copier      // nil until dialled
	closed   bool
	rst      bool // closed with RST
	live     int  // goroutines of this pair still running
}

func (pr *pair) serve() {
	p := pr.p
	defer p.wg.Done()
	c, err := p.dialer.DialContext(p.ctx, "tcp", p.target)
	p.mu.Lock()
	if err != nil {
		if !pr.closed {
			p.refused.Add(1)
			pr.closeLocked(true)
		}
		pr.exitLocked()
		p.mu.Unlock()
		return
	}
	target := c.(*net.TCPConn)
	if pr.closed { // reset or closed while dialling
		closeConn(target, pr.rst)
		pr.exitLocked()
		p.mu.Unlock()
		return
	}
	pr.target = target
	pr.up = &copier{pr: pr, src: pr.client, dst: target, count: &p.c2t}
	pr.down = &copier{pr: pr, src: target, dst: pr.client, count: &p.t2c}
	pr.live = 2
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		pr.down.run()
	}()
	pr.up.run()
}

// closeLocked closes both sockets, with RSTs if rst, and wakes the copiers.
func (pr *pair) closeLocked(rst bool) {
	if pr.closed {
		return
	}
	pr.closed, pr.rst = true, rst
	close(pr.done)
	closeConn(pr.client, rst)
	if pr.target != nil {
		closeConn(pr.target, rst)
	}
}

// exitLocked records that one of the pair's goroutines is done; the last one
// closes the sockets and forgets the pair.
func (pr *pair) exitLocked() {
	pr.live--
	if pr.live > 0 {
		return
	}
	pr.closeLocked(false)
	delete(pr.p.pairs, pr)
	pr.p.open.Add(-1)
}

// pokeLocked makes the pair's blocked reads return so that the copiers see a
// new mode, and, if stop, its blocked writes too.
func (pr *pair) pokeLocked(stop bool) {
	if pr.closed || pr.target == nil {
		return
	}
	for _, c := range []*copier{pr.up, pr.down} {
		if c.reading {
			_ = c.src.SetReadDeadline(aLongTimeAgo)
		}
		if stop && c.writing {
			_ = c.dst.SetWriteDeadline(aLongTimeAgo)
		}
	}
}

// A chunk is bytes read from a copier's source, or, if end, the end of the
// source: EOF if err is nil.
type chunk struct {
	data []byte
	at   time.Time // when it was read
	end  bool
	err  error
}

// A copier moves bytes from src to dst in chunks, in the proxy's mode at the
// time each chunk is delivered. Only its own goroutine touches its fields,
// except reading and writing, which are guarded by p.mu so that mode changes
// can poke the socket calls in progress.
type copier struct {
	pr       *pair
	src, dst *net.TCPConn
	count    *atomic.Int64

	buf, spare []byte  // read buffers: buf while nothing pending aliases it
	pending    []chunk // read, not yet delivered; an end chunk is last
	held       int     // bytes in pending
	srcDone    bool    // pending ends with an end chunk: read no more

	reading, writing bool
}

func (c *copier) run() {
	p := c.pr.p
	defer func() {
		p.mu.Lock()
		c.pr.exitLocked()
		p.mu.Unlock()
	}()
	c.buf = make([]byte, chunkSize)
	for {
		p.mu.Lock()
		if c.pr.closed {
			p.mu.Unlock()
			return
		}
		changed := p.changed
		if p.mode == modeFreeze {
			p.mu.Unlock()
			c.wait(changed, time.Time{})
			continue
		}
		if p.mode == modeBlackhole {
			c.discard()
			if c.srcDone { // the end was dropped too: nothing more to do
				p.mu.Unlock()
				return
			}
		}
		var readDeadline time.Time
		if len(c.pending) > 0 {
			due := c.pending[0].at
			if p.mode == modeDelay {
				due = due.Add(p.delay)
			}
			switch {
			case !time.Now().Before(due):
				if !c.deliverLocked() {
					return
				}
				continue
			case c.srcDone || c.held >= maxPending:
				p.mu.Unlock()
				c.wait(changed, due)
				continue
			}
			readDeadline = due // read more meanwhile
		}
		c.reading = true
		_ = c.src.SetReadDeadline(readDeadline)
		p.mu.Unlock()
		c.read()
		p.mu.Lock()
		c.reading = false
		p.mu.Unlock()
	}
}

// read reads one chunk from src into pending. A timeout means a poke or a
// delayed chunk falling due; the caller's loop handles both.
func (c *copier) read() {
	buf := c.buf
	if len(c.pending) > 0 {
		if c.spare == nil {
			c.spare = make([]byte, chunkSize)
		}
		buf = c.spare
	}
	n, err := c.src.Read(buf)
	now := time.Now()
	if n > 0 {
		data := buf[:n]
		if len(c.pending) > 0 {
			data = append([]byte(nil), data...)
		}
		c.pending = append(c.pending, chunk{data: data, at: now})
		c.held += n
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		if errors.Is(err, io.EOF) {
			err = nil
		}
		c.pending = append(c.pending, chunk{at: now, end: true, err: err})
		c.srcDone = true
	}
}

// deliverLocked writes the first pending chunk, or acts on the end of the
// source, and unlocks p.mu. It reports whether the copier goes on.
func (c *copier) deliverLocked() bool {
	p := c.pr.p
	head := &c.pending[0]
	if head.end {
		p.mu.Unlock()
		if head.err == nil {
			_ = c.dst.CloseWrite() // pass the FIN on
			return false
		}
		c.abort() // pass a reset (or other failure) on
		return false
	}
	c.writing = true
	p.writers++
	_ = c.dst.SetWriteDeadline(time.Time{})
	p.mu.Unlock()
	n, err := c.dst.Write(head.data)
	c.count.Add(int64(n))
	p.mu.Lock()
	c.writing = false
	p.writers--
	if p.writers == 0 {
		p.idle.Broadcast()
	}
	p.mu.Unlock()
	c.held -= n
	head.data = head.data[n:]
	if len(head.data) == 0 {
		c.pop()
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		c.abort()
		return false
	}
	return true
}

// discard drops everything pending, the end of the source included.
func (c *copier) discard() {
	c.pr.p.discarded.Add(int64(c.held))
	c.pending, c.held = nil, 0
}

func (c *copier) pop() {
	c.pending[0] = chunk{}
	c.pending = c.pending[1:]
	if len(c.pending) == 0 {
		c.pending = nil
	}
}

// abort resets both sockets of the pair.
func (c *copier) abort() {
	p := c.pr.p
	p.mu.Lock()
	c.pr.closeLocked(true)
	p.mu.Unlock()
}

// wait blocks until the mode changes, the pair closes or until passes (never
// if until is zero).
func (c *copier) wait(changed <-chan struct{}, until time.Time) {
	var timeout <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-changed:
	case <-c.pr.done:
	case <-timeout:
	}
}
