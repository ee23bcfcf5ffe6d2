package faultnet

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// wrapped returns a Conn over one end of a loopback TCP connection, and the
// other end.
func wrapped(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	s := startServer(t)
	fc := Wrap(dial(t, s.addr()))
	t.Cleanup(func() { fc.Close() })
	return fc, s.accept(t)
}

type result struct {
	n   int
	err error
	b   []byte
}

// readAsync starts a Read of up to n bytes from c.
func readAsync(c net.Conn, n int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		b := make([]byte, n)
		n, err := c.Read(b)
		ch <- result{n, err, b[:n]}
	}()
	return ch
}

// writeAsync starts a Write of b to c.
func writeAsync(c net.Conn, b []byte) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := c.Write(b)
		ch <- result{n: n, err: err}
	}()
	return ch
}

func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(patience):
		t.Fatal("timed out waiting for a call to return")
		return result{}
	}
}

func awaitNothing(t *testing.T, ch <-chan result) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("call returned %d, %v; want it blocked", r.n, r.err)
	case <-time.After(quiet):
	}
}

// inflight waits until a call of s is inside the wrapped conn.
func inflight(t *testing.T, c *Conn, s *side) {
	t.Helper()
	waitFor(t, "a call in progress", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return s.inflight > 0
	})
}

func expectTimeout(t *testing.T, n int, err error) {
	t.Helper()
	if n != 0 || !isTimeout(err) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %d, %v; want 0 and a deadline-exceeded net.Error", n, err)
	}
}

func TestConnPassesThrough(t *testing.T) {
	fc, peer := wrapped(t)
	up, down := pattern(500_000, 1), pattern(300_000, 2)
	w := writeAsync(fc, up)
	expect(t, peer, up)
	if r := await(t, w); r.n != len(up) || r.err != nil {
		t.Fatalf("Write: %d, %v", r.n, r.err)
	}
	go peer.Write(down)
	expect(t, fc, down)
	if fc.LocalAddr().String() != peer.RemoteAddr().String() || fc.RemoteAddr().String() != peer.LocalAddr().String() {
		t.Fatal("addresses differ from the wrapped conn's")
	}
}

func TestConnFrozenCallTimesOutAtDeadline(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  Dir
	}{{"read", Reads}, {"write", Writes}, {"both", Both}} {
		t.Run(tc.name, func(t *testing.T) {
			fc, peer := wrapped(t)
			fc.Freeze(tc.dir)
			writeAll(t, peer, []byte("x"))
			b := make([]byte, 1)
			if tc.dir&Reads != 0 {
				fc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				n, err := fc.Read(b)
				expectTimeout(t, n, err)
			}
			if tc.dir&Writes != 0 {
				fc.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
				n, err := fc.Write([]byte("y"))
				expectTimeout(t, n, err)
				expectNothing(t, peer)
			}
			fc.SetDeadline(time.Time{})
			fc.Pass(tc.dir)
			expect(t, fc, []byte("x"))
			writeAll(t, fc, []byte("z")) // "y" was never sent
			expect(t, peer, []byte("z"))
		})
	}
}

func TestConnDeadlineMovedWhileFrozen(t *testing.T) {
	fc, _ := wrapped(t)
	fc.Freeze(Reads)
	fc.SetReadDeadline(time.Now().Add(time.Hour))
	r := readAsync(fc, 1)
	awaitNothing(t, r)
	fc.SetReadDeadline(time.Now())
	res := await(t, r)
	expectTimeout(t, res.n, res.err)
}

func TestConnFreezeStopsCallsInProgress(t *testing.T) {
	t.Run("read", func(t *testing.T) {
		fc, peer := wrapped(t)
		r := readAsync(fc, 100)
		inflight(t, fc, &fc.r)
		fc.Freeze(Reads)
		writeAll(t, peer, []byte("hello"))
		awaitNothing(t, r)
		fc.Pass(Reads)
		if res := await(t, r); res.err != nil || string(res.b) != "hello" {
			t.Fatalf("Read: %q, %v; want hello", res.b, res.err)
		}
	})
	t.Run("write", func(t *testing.T) {
		fc, peer := wrapped(t)
		data := pattern(32<<20, 3) // more than kernel buffers hold
		w := writeAsync(fc, data)
		inflight(t, fc, &fc.w)
		fc.Freeze(Writes) // returns although the write is blocked
		awaitNothing(t, w)
		fc.Pass(Writes)
		expect(t, peer, data)
		if res := await(t, w); res.n != len(data) || res.err != nil {
			t.Fatalf("Write: %d, %v; want %d", res.n, res.err, len(data))
		}
	})
}

func TestConnFail(t *testing.T) {
	injected := errors.New("injected")
	for _, tc := range []struct {
		name       string
		dir        Dir
		inProgress bool
	}{
		{"read", Reads, false},
		{"read in progress", Reads, true},
		{"write", Writes, false},
		{"write in progress", Writes, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc, peer := wrapped(t)
			var call <-chan result
			if tc.inProgress {
				if tc.dir == Reads {
					call = readAsync(fc, 1)
					inflight(t, fc, &fc.r)
				} else {
					call = writeAsync(fc, pattern(32<<20, 4))
					inflight(t, fc, &fc.w)
				}
			}
			fc.Fail(tc.dir, injected)
			if !tc.inProgress {
				if tc.dir == Reads {
					call = readAsync(fc, 1)
				} else {
					call = writeAsync(fc, []byte("w"))
				}
			}
			if res := await(t, call); !errors.Is(res.err, injected) {
				t.Fatalf("got %d, %v; want the injected error", res.n, res.err)
			}
			if tc.dir == Writes && !tc.inProgress {
				expectNothing(t, peer)
			}
			if tc.dir == Writes && tc.inProgress {
				return // the stream now holds part of the failed write
			}
			fc.Pass(tc.dir)
			writeAll(t, fc, []byte("ok"))
			expect(t, peer, []byte("ok"))
			writeAll(t, peer, []byte("ok"))
			expect(t, fc, []byte("ok"))
		})
	}
}

// deafConn is a real TCP conn that ignores read deadlines, so that a poke
// cannot stop a read in progress: the read returns data after Freeze has
// returned, the race that a Conn must resolve by holding the data.
type deafConn struct{ net.Conn }

func (deafConn) SetReadDeadline(time.Time) error { return nil }

func TestConnHoldsBytesAReadGotAfterFreeze(t *testing.T) {
	s := startServer(t)
	fc := Wrap(deafConn{dial(t, s.addr())})
	t.Cleanup(func() { fc.Close() })
	peer := s.accept(t)
	r := readAsync(fc, 100)
	inflight(t, fc, &fc.r)
	fc.Freeze(Reads)
	writeAll(t, peer, []byte("held"))
	waitFor(t, "the read to take the bytes", func() bool {
		fc.mu.Lock()
		defer fc.mu.Unlock()
		return len(fc.stash) == 4
	})
	awaitNothing(t, r)
	fc.Pass(Reads)
	if res := await(t, r); res.err != nil || string(res.b) != "held" {
		t.Fatalf("Read: %q, %v; want held", res.b, res.err)
	}
}

func TestConnFailKeepsBytesReadMeanwhile(t *testing.T) {
	fc, peer := wrapped(t)
	fc.Freeze(Reads)
	r := readAsync(fc, 10)
	writeAll(t, peer, []byte("kept"))
	awaitNothing(t, r)
	fc.Fail(Reads, net.ErrClosed)
	if res := await(t, r); !errors.Is(res.err, net.ErrClosed) {
		t.Fatalf("Read: %d, %v; want the injected error", res.n, res.err)
	}
	fc.Pass(Reads)
	expect(t, fc, []byte("kept"))
}

func TestConnDelay(t *testing.T) {
	t.Run("deadline first", func(t *testing.T) {
		fc, peer := wrapped(t)
		fc.Delay(Both, time.Hour)
		writeAll(t, peer, []byte("r"))
		fc.SetDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := fc.Write([]byte("w"))
		expectTimeout(t, n, err)
		n, err = fc.Read(make([]byte, 1))
		expectTimeout(t, n, err)
		expectNothing(t, peer)
		fc.SetDeadline(time.Time{})
		fc.Pass(Both)
		expect(t, fc, []byte("r"))
	})
	t.Run("Pass releases", func(t *testing.T) {
		fc, peer := wrapped(t)
		fc.Delay(Writes, time.Hour)
		w := writeAsync(fc, []byte("late"))
		awaitNothing(t, w)
		fc.Pass(Writes)
		expect(t, peer, []byte("late"))
		if res := await(t, w); res.n != 4 || res.err != nil {
			t.Fatalf("Write: %d, %v", res.n, res.err)
		}
	})
	t.Run("order kept", func(t *testing.T) {
		fc, peer := wrapped(t)
		fc.Delay(Both, time.Millisecond)
		var sent, got bytes.Buffer
		for i := range 30 {
			msg := pattern(100+i*37, byte(i))
			sent.Write(msg)
			writeAll(t, fc, msg)
			writeAll(t, peer, msg)
		}
		expect(t, peer, sent.Bytes())
		got.Write(readFull(t, fc, sent.Len()))
		if !bytes.Equal(got.Bytes(), sent.Bytes()) {
			t.Fatal("delayed reads changed the stream")
		}
	})
}

func TestConnCloseUnblocksEverything(t *testing.T) {
	fc, _ := wrapped(t)
	fc.Freeze(Both)
	r := readAsync(fc, 1)
	w := writeAsync(fc, []byte("x"))
	awaitNothing(t, r)
	if err := fc.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan result{r, w} {
		if res := await(t, ch); !errors.Is(res.err, net.ErrClosed) {
			t.Fatalf("got %d, %v; want net.ErrClosed", res.n, res.err)
		}
	}
}

func TestConnReset(t *testing.T) {
	fc, peer := wrapped(t)
	fc.Freeze(Reads)
	r := readAsync(fc, 1)
	if err := fc.Reset(); err != nil {
		t.Fatal(err)
	}
	expectReset(t, peer)
	if res := await(t, r); !errors.Is(res.err, net.ErrClosed) {
		t.Fatalf("Read: %v; want net.ErrClosed", res.err)
	}
}

func TestConnFailNilPanics(t *testing.T) {
	fc, _ := wrapped(t)
	defer func() {
		if recover() == nil {
			t.Fatal("Fail(nil) did not panic")
		}
	}()
	fc.Fail(Reads, nil)
}
