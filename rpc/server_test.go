package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/longlink/longlink/rpc"
)

// Shutdown announces closing, keeps serving the calls in flight, and ends
// when the client, having received its replies, closes the connection.
func TestShutdownLosesNoCallInFlight(t *testing.T) {
	a := newArith()
	const n = 10
	a.entered = make(chan struct{}, n)
	srv, addr := startServer(t, rpc.ServerOptions{}, a)
	var draining sync.Once
	drained := make(chan struct{})
	c := dial(t, addr, rpc.ClientOptions{OnStateChange: func(_ *rpc.Conn, s rpc.ConnState, _ error) {
		if s == rpc.StateDraining {
			draining.Do(func() { close(drained) })
		}
	}})

	done := make(chan *rpc.Call, n)
	for i := range n {
		c.Go(context.Background(), "Arith", "Block", &Args{A: i}, new(Reply), done)
	}
	for range n {
		receive(t, a.entered, longWait, "handlers to start")
	}
	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), longWait)
		defer cancel()
		shutdown <- srv.Shutdown(ctx)
	}()
	receive(t, drained, longWait, "the closing announcement")

	err := c.Call(context.Background(), "Arith", "Add", &Args{}, new(Reply))
	if !errors.Is(err, rpc.ErrDraining) || !rpc.Retryable(err) {
		t.Fatalf("new call on a draining connection: %v; want ErrDraining, retryable", err)
	}
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v with calls in flight", err)
	default:
	}
	for range n {
		a.release <- struct{}{}
	}
	for range n {
		if call := receive(t, done, longWait, "in-flight calls"); call.Error != nil {
			t.Fatalf("in-flight call lost: %v", call.Error)
		}
	}
	if err := receive(t, shutdown, longWait, "Shutdown"); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	receive(t, c.Done(), longWait, "the client to close the drained connection")
	if !errors.Is(c.Err(), rpc.ErrDraining) {
		t.Fatalf("Err() = %v", c.Err())
	}
}

func TestShutdownDeadlineForcesClose(t *testing.T) {
	a := newArith()
	a.entered = make(chan struct{}, 1)
	srv, addr := startServer(t, rpc.ServerOptions{}, a)
	c := dial(t, addr, rpc.ClientOptions{})
	call := c.Go(context.Background(), "Arith", "Block", &Args{}, new(Reply), nil)
	receive(t, a.entered, longWait, "the handler to start")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	// The handler saw its context end; the call learned the connection died.
	if err := receive(t, call.Done, longWait, "the call").Error; !errors.Is(err, rpc.ErrConnLost) {
		t.Fatalf("call: %v, want ErrConnLost", err)
	}
}

func TestServeAfterCloseAndCloseTwice(t *testing.T) {
	srv := rpc.NewServer(rpc.ServerOptions{Logger: quietLogger})
	srv.Close()
	srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); !errors.Is(err, rpc.ErrServerClosed) {
		t.Fatalf("Serve after Close = %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Fatal("Serve left the listener open")
	}
}

// Close returns only after the goroutines it owns are done: the client's
// reader is out of Read for good, and the server's handler has returned.
func TestCloseJoinsGoroutines(t *testing.T) {
	var cc *countingConn
	var readsAtClose int64
	t.Cleanup(func() { // runs last: after the server is closed too
		goleak.VerifyNone(t) // waits for stragglers, fails if any stay
		if cc.reads.Load() != readsAtClose {
			t.Error("the reader read again after Close returned")
		}
	})
	a := newArith()
	a.entered = make(chan struct{}, 1)
	_, addr := startServer(t, rpc.ServerOptions{}, a)
	c := dial(t, addr, rpc.ClientOptions{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		cc = &countingConn{Conn: nc}
		return cc, err
	}})
	if err := c.Call(context.Background(), "Arith", "Add", &Args{}, new(Reply)); err != nil {
		t.Fatal(err)
	}
	blocked := c.Go(context.Background(), "Arith", "Block", &Args{}, new(Reply), nil)
	receive(t, a.entered, longWait, "the handler")

	c.Close()
	readsAtClose = cc.reads.Load()
	if cc.inRead.Load() != 0 {
		t.Fatal("Close returned with the reader inside Read")
	}
	if err := (<-blocked.Done).Error; !errors.Is(err, rpc.ErrClosed) {
		t.Fatalf("pending call: %v", err)
	}
}

// countingConn counts Read calls and how many are in progress.
type countingConn struct {
	net.Conn
	reads, inRead atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	c.inRead.Add(1)
	defer c.inRead.Add(-1)
	return c.Conn.Read(p)
}

func TestServerCloseWaitsForHandlers(t *testing.T) {
	a := newArith()
	a.entered = make(chan struct{}, 1)
	a.exited = make(chan struct{}, 1)
	srv, addr := startServer(t, rpc.ServerOptions{}, a)
	c := dial(t, addr, rpc.ClientOptions{})
	c.Go(context.Background(), "Arith", "Block", &Args{}, new(Reply), nil)
	receive(t, a.entered, longWait, "the handler")
	srv.Close()
	select {
	case <-a.exited:
	default:
		t.Fatal("Close returned while a handler was still running")
	}
}

// A connection that sends nothing, not even a heartbeat, is closed after
// IdleTimeout; one whose client heartbeats stays open.
func TestIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = 10 * time.Second
		srv := rpc.NewServer(rpc.ServerOptions{IdleTimeout: idle, Logger: quietLogger})
		defer srv.Close()

		silent, serverEnd := net.Pipe()
		defer silent.Close()
		start := time.Now()
		srv.ServeConn(serverEnd)

		beating, serverEnd2 := net.Pipe()
		srv.ServeConn(serverEnd2)
		c := rpc.NewConn(beating, rpc.ClientOptions{HeartbeatInterval: idle / 4, Logger: quietLogger})
		defer c.Close()

		if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("silent connection: read %v, want EOF", err)
		}
		if took := time.Since(start); took < idle || took > idle*5/4 {
			t.Fatalf("silent connection closed after %v, want within [%v, %v]", took, idle, idle*5/4)
		}
		time.Sleep(10 * idle)
		if c.State() != rpc.StateReady || srv.ConnCount() != 1 {
			t.Fatalf("heartbeating connection: state %v, server has %d connections", c.State(), srv.ConnCount())
		}
	})
}

// Bad input closes that connection only, with a logged reason, and the
// server keeps serving everyone else.
func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	valid, err := rpc.AppendRequest(1, "Arith", "Add", nil, &Args{A: 1})
	if err != nil {
		t.Fatal(err)
	}
	withByte := func(b []byte, i int, v byte) []byte { b = append([]byte(nil), b...); b[i] = v; return b }
	tests := []struct {
		name   string
		input  []byte
		stall  bool   // keep the connection open after writing
		reason string // in the server's log
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false, "bad magic"},
		{"wrong magic", withByte(valid, 0, 0xda), false, "bad magic"},
		{"unknown codec", withByte(valid, 2, 0xc0|27), false, "unknown codec"},
		{"length over the maximum", rpc.AppendHeader(nil, rpc.FlagRequest|rpc.FlagTwoWay, 0, 1, 1<<20+1), true, "frame too large"},
		{"unknown event", rpc.AppendHeader(nil, rpc.FlagRequest|rpc.FlagTwoWay|rpc.FlagEvent, 7, 1, 0), true, "unknown event"},
		{"a response sent to the server", rpc.AppendHeader(nil, 0, 0, 1, 0), true, "unexpected frame"},
		{"truncated frame, then close", valid[:len(valid)-3], false, "unexpected EOF"},
		{"half a frame, then stall", valid[:len(valid)/2], true, "idle"},
	}
	var logs logBuffer
	_, addr := startServer(t, rpc.ServerOptions{MaxFrameSize: 1 << 20, IdleTimeout: 200 * time.Millisecond, Logger: logs.logger()}, newArith())
	healthy := dial(t, addr, rpc.ClientOptions{HeartbeatInterval: 20 * time.Millisecond})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nc := rawConn(t, addr)
			if _, err := nc.Write(tc.input); err != nil {
				t.Fatal(err)
			}
			if !tc.stall {
				nc.(*net.TCPConn).CloseWrite()
			}
			if err := closedByPeer(nc, longWait); err != nil {
				t.Fatal(err)
			}
			waitFor(t, longWait, "the reason in the log", func() bool { return strings.Contains(logs.String(), tc.reason) })
			var r Reply
			if err := healthy.Call(context.Background(), "Arith", "Add", &Args{A: 2, B: 2}, &r); err != nil || r.C != 4 {
				t.Fatalf("healthy connection after bad input: %d, %v", r.C, err)
			}
		})
	}
}

// A valid frame with an undecodable body gets a bad-request answer, and the
// connection stays usable.
func TestUndecodableBodyAnsweredAndConnectionKept(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{}, newArith())
	nc := rawConn(t, addr)
	bad := append(rpc.AppendHeader(nil, rpc.FlagRequest|rpc.FlagTwoWay, 0, 9, 1), 0xc1)
	good, err := rpc.AppendRequest(10, "Arith", "Add", nil, &Args{A: 1, B: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(append(bad, good...)); err != nil {
		t.Fatal(err)
	}
	fr := rpc.NewFrameReader(nc, 1<<20)
	want := map[uint64]rpc.Status{9: rpc.StatusBadRequest, 10: rpc.StatusOK}
	for range 2 {
		nc.SetReadDeadline(time.Now().Add(longWait))
		h, _, err := fr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if st, ok := want[rpc.HeaderID(h)]; !ok || st != rpc.HeaderStatus(h) {
			t.Fatalf("reply id %d status %v", rpc.HeaderID(h), rpc.HeaderStatus(h))
		}
		delete(want, rpc.HeaderID(h))
	}
}

// A client that vanished without closing (its FIN lost on a dead path) does
// not hold Shutdown until the idle timeout: with nothing running on its
// connection and nothing heard for a second after "closing", the server
// closes it. A client whose request is still running is waited for.
func TestShutdownClosesConnectionsOfVanishedClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newArith()
		a.entered = make(chan struct{}, 1)
		srv := rpc.NewServer(rpc.ServerOptions{IdleTimeout: time.Hour, Logger: quietLogger})
		srv.RegisterName("Arith", a)
		vanished, end1 := net.Pipe()
		defer vanished.Close()
		busy, end2 := net.Pipe()
		srv.ServeConn(end1)
		srv.ServeConn(end2)
		c := rpc.NewConn(busy, rpc.ClientOptions{HeartbeatInterval: -1, Logger: quietLogger})
		defer c.Close()
		call := c.Go(context.Background(), "Arith", "Block", &Args{}, new(Reply), nil)
		<-a.entered

		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- srv.Shutdown(context.Background()) }()
		go io.Copy(io.Discard, vanished) // reads "closing", then EOF when closed
		synctest.Wait()
		for srv.ConnCount() == 2 {
			time.Sleep(10 * time.Millisecond)
		}
		if gone := time.Since(start); gone < time.Second {
			t.Fatalf("the silent connection was closed %v after the announcement, before a second of silence", gone)
		}
		time.Sleep(time.Minute)
		if srv.ConnCount() != 1 {
			t.Fatal("the connection with a request running was closed")
		}
		a.release <- struct{}{}
		if got := <-call.Done; got.Error != nil {
			t.Fatalf("the running request: %v", got.Error)
		}
		if err := <-done; err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
	})
}

// Hostile bodies inside valid frames: a huge metadata map, an argument
// nested deeper than the limit, an array claiming billions of elements.
// Each gets a bad-request answer and a logged reason, allocates nothing near
// what it claims, and the connection goes on serving: closing it would fail
// every other call multiplexed on it.
func TestHostileBodiesAreAnsweredNotObeyed(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, 10_000) // [[[[...]]]]
	deep = append(deep, 0x01)
	var bigMeta []byte
	bigMeta = append(bigMeta, 0x95, 0xa5, 'A', 'r', 'i', 't', 'h', 0xa4, 'E', 'c', 'h', 'o', 0x00, 0xdf, 0, 1, 0, 0) // 65536 pairs
	for i := range 65536 {
		bigMeta = append(bigMeta, 0xa4, 'k', byte(i>>16), byte(i>>8), byte(i), 0xa0)
	}
	bigMeta = append(bigMeta, 0xa1, 'x')
	envelope := func(method string, arg []byte) []byte {
		b := append([]byte{0x95, 0xa5, 'A', 'r', 'i', 't', 'h', 0xa0 | byte(len(method))}, method...)
		return append(append(b, 0x00, 0xc0), arg...)
	}
	tests := []struct {
		name string
		body []byte
		log  string
	}{
		{"65536 metadata pairs", bigMeta, "metadata has 65536 pairs"},
		{"untyped argument nested 10000 deep", envelope("Any", deep), "nested too deep"},
		{"slice argument claiming 2^32-1 elements", envelope("Sum", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}), "malformed msgpack"},
	}
	var logs logBuffer
	_, addr := startServer(t, rpc.ServerOptions{Logger: logs.logger()}, newArith())
	nc := rawConn(t, addr)
	fr := rpc.NewFrameReader(nc, 1<<20)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			frame := append(rpc.AppendHeader(nil, rpc.FlagRequest|rpc.FlagTwoWay, 0, uint64(i+1), len(tc.body)), tc.body...)
			if _, err := nc.Write(frame); err != nil {
				t.Fatal(err)
			}
			nc.SetReadDeadline(time.Now().Add(longWait))
			h, _, err := fr.Next()
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			runtime.ReadMemStats(&after)
			if rpc.HeaderStatus(h) != rpc.StatusBadRequest {
				t.Fatalf("status %v, want bad request", rpc.HeaderStatus(h))
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Fatalf("a %d-byte body made the server allocate %d bytes", len(tc.body), grew)
			}
			waitFor(t, longWait, "the reason in the log", func() bool { return strings.Contains(logs.String(), tc.log) })
		})
	}
	good, _ := rpc.AppendRequest(99, "Arith", "Add", nil, &Args{A: 2, B: 3})
	nc.Write(good)
	if h, _, err := fr.Next(); err != nil || rpc.HeaderStatus(h) != rpc.StatusOK {
		t.Fatalf("the connection stopped serving after hostile bodies: %v, %v", err, rpc.HeaderStatus(h))
	}
}

// Workers outlive their requests, so a burst leaves spare workers; those that
// no request needs for a while are retired, and none is left behind.
func TestSpareWorkersRetire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newArith()
		a.entered = make(chan struct{}, 100)
		srv := rpc.NewServer(rpc.ServerOptions{Logger: quietLogger})
		defer srv.Close()
		srv.RegisterName("Arith", a)
		cc, sc := net.Pipe()
		srv.ServeConn(sc)
		c := rpc.NewConn(cc, rpc.ClientOptions{HeartbeatInterval: -1, Logger: quietLogger})
		defer c.Close()

		const burst = 20
		calls := make([]*rpc.Call, burst)
		for i := range calls {
			calls[i] = c.Go(context.Background(), "Arith", "Block", &Args{}, new(Reply), nil)
		}
		for range burst {
			<-a.entered
		}
		for range burst {
			a.release <- struct{}{}
		}
		for _, call := range calls {
			if got := <-call.Done; got.Error != nil {
				t.Fatal(got.Error)
			}
		}
		synctest.Wait()
		if n := rpc.SpareWorkers(srv); n != burst {
			t.Fatalf("after the burst: %d spare workers, want %d", n, burst)
		}
		// A trickle of requests keeps one worker busy now and then; the
		// others have nothing to do.
		for range 2 * rpc.WorkerIdle / time.Second {
			if err := c.Call(context.Background(), "Arith", "Add", &Args{A: 1}, new(Reply)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		synctest.Wait()
		if n := rpc.SpareWorkers(srv); n > 1 {
			t.Fatalf("after %v with at most one request at a time: %d spare workers, want at most 1", 2*rpc.WorkerIdle, n)
		}
	})
}
