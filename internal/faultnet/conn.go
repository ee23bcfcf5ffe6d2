package faultnet

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// Dir selects the reads, the writes, or both of a Conn.
type Dir uint8

// The directions of a Conn.
const (
	Reads Dir = 1 << iota
	Writes
	Both = Reads | Writes
)

type faultKind uint8

const (
	kindPass faultKind = iota
	kindFreeze
	kindDelay
	kindFail
)

type fault struct {
	kind faultKind
	d    time.Duration
	err  error
}

// stops reports whether f forbids touching the socket.
func (f fault) stops() bool { return f.kind == kindFreeze || f.kind == kindFail }

// side is the state of one direction of a Conn, guarded by Conn.mu.
type side struct {
	fault    fault
	deadline time.Time // set by the caller
	inflight int       // calls inside the wrapped conn
	poked    bool      // the wrapped conn's deadline is aLongTimeAgo, not deadline
}

// A Conn wraps a net.Conn so that its reads and its writes can each be
// frozen, delayed or failed, and so that it can be reset. Deadlines keep
// working under every fault, and Close unblocks every call. A fault applies
// to calls in progress as well as later ones. The wrapped conn must support
// deadlines, as every conn of package net does. A Conn starts no goroutines.
type Conn struct {
	c net.Conn

	mu      sync.Mutex
	idle    sync.Cond     // on mu; broadcast when w.inflight drops to zero
	changed chan struct{} // closed and replaced at every change of state
	closed  bool
	r, w    side
	stash   []byte // bytes read under Freeze or Fail, returned by later reads
}

var _ net.Conn = (*Conn)(nil)

// Wrap returns a Conn over c that passes everything through until told otherwise.
func Wrap(c net.Conn) *Conn {
	fc := &Conn{c: c, changed: make(chan struct{})}
	fc.idle.L = &fc.mu
	return fc
}

// Pass lets the calls of dir through again; frozen ones resume.
func (c *Conn) Pass(dir Dir) { c.set(dir, fault{}) }

// Freeze blocks the calls of dir until they are allowed again, the Conn is
// closed, or their deadline passes (a net.Error whose Timeout is true). When
// Freeze returns no byte is written (Writes) or returned (Reads) any more;
// bytes a read in progress received meanwhile are kept for later reads.
func (c *Conn) Freeze(dir Dir) { c.set(dir, fault{kind: kindFreeze}) }

// Delay makes each call of dir wait d before it touches the wrapped conn,
// within the call's deadline. A call already past that point is not delayed.
func (c *Conn) Delay(dir Dir, d time.Duration) { c.set(dir, fault{kind: kindDelay, d: d}) }

// Fail makes the calls of dir, those in progress included, return err without
// touching the wrapped conn; bytes a read received meanwhile are kept. When
// Fail returns no byte is written (Writes). Fail panics if err is nil.
func (c *Conn) Fail(dir Dir, err error) {
	if err == nil {
		panic("faultnet: Fail with a nil error")
	}
	c.set(dir, fault{kind: kindFail, err: err})
}

// Reset closes the Conn abruptly: with a TCP RST if the wrapped conn has
// SetLinger (as *net.TCPConn does), else as Close.
func (c *Conn) Reset() error {
	c.shut()
	if l, ok := c.c.(interface{ SetLinger(int) error }); ok {
		_ = l.SetLinger(0)
	}
	return c.c.Close()
}

// Close closes the wrapped conn and unblocks every call.
func (c *Conn) Close() error {
	c.shut()
	return c.c.Close()
}

// Read reads from the wrapped conn, subject to the Reads fault.
func (c *Conn) Read(b []byte) (int, error) {
	start := time.Now()
	c.mu.Lock()
	for {
		if err := c.gateLocked(&c.r, "read", start); err != nil {
			c.mu.Unlock()
			return 0, err
		}
		if len(c.stash) > 0 {
			n := copy(b, c.stash)
			c.stash = c.stash[n:]
			if len(c.stash) == 0 {
				c.stash = nil
			}
			c.mu.Unlock()
			return n, nil
		}
		c.beginLocked(&c.r, c.c.SetReadDeadline)
		c.mu.Unlock()
		n, err := c.c.Read(b)
		c.mu.Lock()
		c.r.inflight--
		if n > 0 && c.r.fault.stops() {
			c.stash = append(c.stash, b[:n]...)
			continue
		}
		if n == 0 && c.retryLocked(&c.r, err) {
			continue
		}
		c.mu.Unlock()
		return n, err
	}
}

// Write writes to the wrapped conn, subject to the Writes fault.
func (c *Conn) Write(b []byte) (int, error) {
	start := time.Now()
	total := 0
	c.mu.Lock()
	for {
		if err := c.gateLocked(&c.w, "write", start); err != nil {
			c.mu.Unlock()
			return total, err
		}
		c.beginLocked(&c.w, c.c.SetWriteDeadline)
		c.mu.Unlock()
		n, err := c.c.Write(b)
		total += n
		b = b[n:]
		c.mu.Lock()
		c.w.inflight--
		if c.w.inflight == 0 {
			c.idle.Broadcast()
		}
		if c.retryLocked(&c.w, err) {
			continue
		}
		c.mu.Unlock()
		return total, err
	}
}

// LocalAddr returns the wrapped conn's local address.
func (c *Conn) LocalAddr() net.Addr { return c.c.LocalAddr() }

// RemoteAddr returns the wrapped conn's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.c.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

// SetReadDeadline sets the deadline of reads, frozen or delayed ones included.
func (c *Conn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(&c.r, t, c.c.SetReadDeadline)
}

// SetWriteDeadline sets the deadline of writes, frozen or delayed ones included.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(&c.w, t, c.c.SetWriteDeadline)
}

func (c *Conn) setDeadline(s *side, t time.Time, set func(time.Time) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.deadline = t
	c.signalLocked()
	if s.poked { // the call in progress restores it when it resumes
		return nil
	}
	return set(t)
}

func (c *Conn) set(dir Dir, f fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if dir&Reads != 0 {
		c.r.fault = f
		if f.stops() {
			c.pokeLocked(&c.r, c.c.SetReadDeadline)
		}
	}
	if dir&Writes != 0 {
		c.w.fault = f
		if f.stops() {
			c.pokeLocked(&c.w, c.c.SetWriteDeadline)
		}
	}
	c.signalLocked()
	// Poked writes return at once; none starts while the fault stops them.
	for dir&Writes != 0 && f.stops() && c.w.fault.stops() && c.w.inflight > 0 && !c.closed {
		c.idle.Wait()
	}
}

func (c *Conn) shut() {
	c.mu.Lock()
	c.closed = true
	c.signalLocked()
	c.idle.Broadcast()
	c.mu.Unlock()
}

func (c *Conn) signalLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// pokeLocked makes the calls of s in progress return from the wrapped conn.
func (c *Conn) pokeLocked(s *side, set func(time.Time) error) {
	if s.inflight > 0 {
		_ = set(aLongTimeAgo)
		s.poked = true
	}
}

// beginLocked counts a call into the wrapped conn, restoring the caller's
// deadline if a poke replaced it.
func (c *Conn) beginLocked(s *side, set func(time.Time) error) {
	s.inflight++
	if s.poked {
		_ = set(s.deadline)
		s.poked = false
	}
}

// retryLocked reports whether err is a timeout caused by a poke rather than
// by the caller's deadline, so that the call must go through the gate again.
func (c *Conn) retryLocked(s *side, err error) bool {
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	expired := !s.deadline.IsZero() && !time.Now().Before(s.deadline)
	return !expired && s.poked
}

// gateLocked waits, with c.mu held except while waiting, until a call of s
// that started at start may touch the wrapped conn, and returns nil; or
// returns the error the call must fail with.
func (c *Conn) gateLocked(s *side, op string, start time.Time) error {
	for {
		if c.closed {
			return c.opError(op, net.ErrClosed)
		}
		now := time.Now()
		var until time.Time // zero: until something changes
		switch s.fault.kind {
		case kindPass:
			return nil
		case kindFail:
			return s.fault.err
		case kindDelay:
			due := start.Add(s.fault.d)
			if !now.Before(due) {
				return nil
			}
			until = due
		}
		if !s.deadline.IsZero() {
			if !now.Before(s.deadline) {
				return c.opError(op, os.ErrDeadlineExceeded)
			}
			if until.IsZero() || s.deadline.Before(until) {
				until = s.deadline
			}
		}
		changed := c.changed
		c.mu.Unlock()
		wait(changed, until)
		c.mu.Lock()
	}
}

// wait blocks until changed is closed or until passes (never if zero).
func wait(changed <-chan struct{}, until time.Time) {
	if until.IsZero() {
		<-changed
		return
	}
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-changed:
	case <-t.C:
	}
}

// opError builds the error a net.Conn returns for op failing with err;
// with os.ErrDeadlineExceeded it is a net.Error whose Timeout is true.
func (c *Conn) opError(op string, err error) error {
	e := &net.OpError{Op: op, Source: c.c.LocalAddr(), Addr: c.c.RemoteAddr(), Err: err}
	if e.Source != nil {
		e.Net = e.Source.Network()
	}
	return e
}
