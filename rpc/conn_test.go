package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longlink/longlink/rpc"
)

func TestCallOutcomes(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{}, newArith())
	c := dial(t, addr, rpc.ClientOptions{})
	tests := []struct {
		name      string
		service   string
		method    string
		args      any
		want      int
		wantErr   error  // sentinel, via errors.Is
		wantMsg   string // in the error text
		wantState rpc.Status
	}{
		{name: "ok", service: "Arith", method: "Add", args: &Args{A: 2, B: 3}, want: 5},
		{name: "application error", service: "Arith", method: "Div", args: &Args{A: 1}, wantErr: rpc.ErrApplication, wantMsg: "divide by zero", wantState: rpc.StatusApplication},
		{name: "panic", service: "Arith", method: "Panic", args: &Args{}, wantErr: rpc.ErrInternal, wantMsg: "kaboom", wantState: rpc.StatusInternal},
		{name: "unknown service", service: "Nope", method: "Add", args: &Args{}, wantErr: rpc.ErrUnknownService, wantMsg: `"Nope"`, wantState: rpc.StatusUnknownService},
		{name: "unknown method", service: "Arith", method: "Mul", args: &Args{}, wantErr: rpc.ErrUnknownMethod, wantMsg: `"Mul"`, wantState: rpc.StatusUnknownMethod},
		{name: "undecodable argument", service: "Arith", method: "Add", args: "not a struct", wantErr: rpc.ErrBadRequest, wantState: rpc.StatusBadRequest},
		{name: "handler ran out of time", service: "Arith", method: "Sleepy", args: &Args{}, wantErr: context.DeadlineExceeded, wantMsg: "deadline", wantState: rpc.StatusDeadline},
		{name: "ok after a panic", service: "Arith", method: "Add", args: &Args{A: 1, B: 1}, want: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Reply
			err := c.Call(context.Background(), tc.service, tc.method, tc.args, &r)
			if tc.wantErr == nil {
				if err != nil || r.C != tc.want {
					t.Fatalf("got %d, %v; want %d", r.C, err, tc.want)
				}
				return
			}
			var re *rpc.RemoteError
			if !errors.As(err, &re) || re.Status != tc.wantState || !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %#v, want a *RemoteError with status %v", err, tc.wantState)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %q, want it to mention %q", err, tc.wantMsg)
			}
			if rpc.Retryable(err) {
				t.Fatalf("%v is retryable; remote answers are not", err)
			}
		})
	}
}

func TestValueArgumentsAndResults(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{}, newArith())
	c := dial(t, addr, rpc.ClientOptions{})
	var got string
	if err := c.Call(context.Background(), "Arith", "Echo", "héllo", &got); err != nil || got != "héllo" {
		t.Fatalf("Echo = %q, %v", got, err)
	}
	if err := c.Call(context.Background(), "Arith", "Add", &Args{A: 1}, nil); err != nil {
		t.Fatalf("nil reply: %v", err)
	}
}

func TestDeadlineAndMetadataReachHandler(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{}, newArith())
	c := dial(t, addr, rpc.ClientOptions{})

	var r Reply
	if err := c.Call(context.Background(), "Arith", "Deadline", &Args{}, &r); err != nil || r.C != -1 {
		t.Fatalf("without a deadline the handler saw %d ms, %v; want none (-1)", r.C, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := c.Call(ctx, "Arith", "Deadline", &Args{}, &r); err != nil {
		t.Fatal(err)
	}
	if r.C <= 0 || r.C > int(time.Hour.Milliseconds()) {
		t.Fatalf("handler saw %d ms left of a 1 h deadline", r.C)
	}

	var m MetaReply
	ctx = rpc.WithMetadata(context.Background(), rpc.Metadata{"k": "v", "trace": "t1"})
	if err := c.Call(ctx, "Arith", "Meta", &Args{}, &m); err != nil || m.N != 2 || m.K != "v" {
		t.Fatalf("handler saw %+v, %v; want 2 pairs with k=v", m, err)
	}
}

func TestRegisterRejectsWrongShapes(t *testing.T) {
	tests := []struct {
		name string
		rcvr any
		want string // in the error
	}{
		{"no context", &noContext{}, "M: first argument"},
		{"one result", &oneResult{}, "M: returns 1 values"},
		{"error not last", &errorFirst{}, "M: second result"},
		{"channel argument", &chanArg{}, "cannot be encoded"},
		{"no methods", &struct{}{}, "no name"},
		{"nil", (*Arith)(nil), "nil receiver"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := rpc.NewServer(rpc.ServerOptions{}).Register(tc.rcvr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Register = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if err := rpc.NewServer(rpc.ServerOptions{}).Register(newArith()); err != nil {
		t.Fatalf("Register(Arith) = %v", err)
	}
}

type noContext struct{}

func (noContext) M(a, b *Args) (*Reply, error) { return nil, nil }

type oneResult struct{}

func (oneResult) M(context.Context, *Args) *Reply { return nil }

type errorFirst struct{}

//lint:ignore ST1008 the wrong shape is what this test registers
func (errorFirst) M(context.Context, *Args) (error, *Reply) { return nil, nil }

type chanArg struct{}

func (chanArg) M(context.Context, chan int) (*Reply, error) { return nil, nil }

func TestManyConcurrentCalls(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{}, newArith())
	c := dial(t, addr, rpc.ClientOptions{})
	const goroutines, calls = 100, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				var r Reply
				if err := c.Call(context.Background(), "Arith", "Add", &Args{A: g, B: i}, &r); err != nil || r.C != g+i {
					errs <- fmt.Errorf("goroutine %d call %d: got %d, %v", g, i, r.C, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := c.Stats(); st.Calls != goroutines*calls || st.Failures != 0 || st.InFlight != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCancelReturnsAtOnceAndDropsLateReply(t *testing.T) {
	a := newArith()
	a.entered = make(chan struct{}, 1)
	_, addr := startServer(t, rpc.ServerOptions{}, a)
	c := dial(t, addr, rpc.ClientOptions{})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Call(ctx, "Arith", "Block", &Args{A: 1}, new(Reply)) }()
	receive(t, a.entered, longWait, "the handler to start")
	cancel()
	err := receive(t, done, longWait, "the cancelled call to return")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := c.PendingLen(); n != 0 {
		t.Fatalf("%d calls still pending after cancellation", n)
	}
	a.release <- struct{}{} // the handler replies; the reply must be dropped
	var r Reply
	if err := c.Call(context.Background(), "Arith", "Add", &Args{A: 4, B: 4}, &r); err != nil || r.C != 8 {
		t.Fatalf("next call: %d, %v", r.C, err)
	}
}

func TestTimeoutIsANetError(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{}, newArith())
	c := dial(t, addr, rpc.ClientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, "Arith", "Block", &Args{}, new(Reply))
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v; want context.DeadlineExceeded, a net.Error with Timeout()", err)
	}
	if rpc.Retryable(err) {
		t.Fatal("a call past its deadline must not be retried")
	}
}

func TestGo(t *testing.T) {
	a := newArith()
	_, addr := startServer(t, rpc.ServerOptions{}, a)
	c := dial(t, addr, rpc.ClientOptions{})

	done := make(chan *rpc.Call, 10)
	for i := range 10 {
		c.Go(context.Background(), "Arith", "Add", &Args{A: i, B: i}, new(Reply), done)
	}
	seen := map[int]bool{}
	for range 10 {
		call := receive(t, done, longWait, "an asynchronous call")
		if call.Error != nil {
			t.Fatal(call.Error)
		}
		seen[call.Reply.(*Reply).C] = true
	}
	if len(seen) != 10 {
		t.Fatalf("replies %v", seen)
	}

	ctx, cancel := context.WithCancel(context.Background())
	call := c.Go(ctx, "Arith", "Block", &Args{}, new(Reply), nil)
	cancel()
	got := receive(t, call.Done, longWait, "the cancelled asynchronous call")
	if !errors.Is(got.Error, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", got.Error)
	}
	if n := c.PendingLen(); n != 0 {
		t.Fatalf("%d calls still pending", n)
	}
}

func TestFrameTooLargeFailsOnlyThatCall(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{MaxFrameSize: 1 << 20}, newArith())
	c := dial(t, addr, rpc.ClientOptions{MaxFrameSize: 1 << 10})
	err := c.Call(context.Background(), "Arith", "Echo", strings.Repeat("x", 2<<10), new(string))
	if !errors.Is(err, rpc.ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
	var r Reply
	if err := c.Call(context.Background(), "Arith", "Add", &Args{A: 1, B: 2}, &r); err != nil || r.C != 3 {
		t.Fatalf("the connection did not survive: %d, %v", r.C, err)
	}
}

func TestReplyTooLargeIsAnInternalError(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{MaxFrameSize: 1 << 10}, newArith())
	c := dial(t, addr, rpc.ClientOptions{})
	err := c.Call(context.Background(), "Arith", "Big", &Args{A: 4 << 10}, new(string))
	if !errors.Is(err, rpc.ErrInternal) || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v, want ErrInternal about the frame limit", err)
	}
	var r Reply
	if err := c.Call(context.Background(), "Arith", "Add", &Args{A: 1, B: 2}, &r); err != nil {
		t.Fatal(err)
	}
}

func TestExecutesLimit(t *testing.T) {
	a := newArith()
	a.entered = make(chan struct{}, 2)
	_, addr := startServer(t, rpc.ServerOptions{Executes: 2}, a)
	c := dial(t, addr, rpc.ClientOptions{})

	blocked := make(chan error, 2)
	for range 2 {
		go func() { blocked <- c.Call(context.Background(), "Arith", "Block", &Args{}, new(Reply)) }()
	}
	receive(t, a.entered, longWait, "first handler")
	receive(t, a.entered, longWait, "second handler")

	err := c.Call(context.Background(), "Arith", "Block", &Args{}, new(Reply))
	if !errors.Is(err, rpc.ErrOverloaded) || !rpc.Retryable(err) {
		t.Fatalf("third call: %v; want ErrOverloaded, retryable", err)
	}
	var r Reply
	if err := c.Call(context.Background(), "Arith", "Add", &Args{A: 1}, &r); err != nil {
		t.Fatalf("another method is not limited: %v", err)
	}
	a.release <- struct{}{}
	a.release <- struct{}{}
	for range 2 {
		if err := receive(t, blocked, longWait, "blocked calls"); err != nil {
			t.Fatal(err)
		}
	}
	go func() { a.release <- struct{}{} }()
	if err := c.Call(context.Background(), "Arith", "Block", &Args{}, new(Reply)); err != nil {
		t.Fatalf("after the slots freed: %v", err)
	}
}

// A peer that accepts and then closes: every pending call fails at once
// with ErrConnLost, and later calls get the same error.
func TestPendingCallsFailWhenPeerCloses(t *testing.T) {
	accepted := make(chan net.Conn, 1)
	addr := rawPeer(t, func(nc net.Conn) { accepted <- nc })
	c := dial(t, addr, rpc.ClientOptions{HeartbeatInterval: -1})
	peer := receive(t, accepted, longWait, "accept")

	const n = 20
	done := make(chan *rpc.Call, n)
	for range n {
		c.Go(context.Background(), "Arith", "Add", &Args{}, new(Reply), done)
	}
	waitFor(t, longWait, "calls to be pending", func() bool { return c.PendingLen() == n })
	peer.Close()
	for range n {
		call := receive(t, done, longWait, "a pending call to fail")
		var ce *rpc.ConnError
		if !errors.Is(call.Error, rpc.ErrConnLost) || !errors.As(call.Error, &ce) || !rpc.Retryable(call.Error) {
			t.Fatalf("err = %v, want a retryable *ConnError with ErrConnLost", call.Error)
		}
	}
	if c.State() != rpc.StateClosed {
		t.Fatalf("state %v", c.State())
	}
	if err := c.Call(context.Background(), "Arith", "Add", &Args{}, new(Reply)); !errors.Is(err, rpc.ErrConnLost) {
		t.Fatalf("call after failure: %v, want ErrConnLost", err)
	}
}

func TestCloseFailsPendingCallsWithErrClosed(t *testing.T) {
	a := newArith()
	a.entered = make(chan struct{}, 1)
	_, addr := startServer(t, rpc.ServerOptions{}, a)
	c := dial(t, addr, rpc.ClientOptions{})
	done := make(chan error, 1)
	go func() { done <- c.Call(context.Background(), "Arith", "Block", &Args{}, new(Reply)) }()
	receive(t, a.entered, longWait, "the handler to start")
	c.Close()
	if err := receive(t, done, longWait, "the pending call"); !errors.Is(err, rpc.ErrClosed) || rpc.Retryable(err) {
		t.Fatalf("err = %v, want ErrClosed, not retryable", err)
	}
	if !errors.Is(c.Err(), rpc.ErrClosed) {
		t.Fatalf("Err() = %v", c.Err())
	}
}

func TestClientClosesOnBadServerFrame(t *testing.T) {
	addr := rawPeer(t, func(nc net.Conn) {
		nc.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		closedByPeer(nc, longWait)
	})
	var logs logBuffer
	c := dial(t, addr, rpc.ClientOptions{Logger: logs.logger()})
	receive(t, c.Done(), longWait, "the connection to fail")
	if !errors.Is(c.Err(), rpc.ErrProtocol) {
		t.Fatalf("Err() = %v, want ErrProtocol", c.Err())
	}
	if !strings.Contains(logs.String(), "bad magic") {
		t.Fatalf("log does not give the reason:\n%s", logs.String())
	}
}

func TestPing(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{}, newArith())
	c := dial(t, addr, rpc.ClientOptions{HeartbeatInterval: -1})
	rtt, err := c.Ping(context.Background())
	if err != nil || rtt <= 0 {
		t.Fatalf("Ping = %v, %v", rtt, err)
	}
	if c.PendingLen() != 0 {
		t.Fatal("a ping stayed pending")
	}
}

// A peer that accepts but never answers: Ping returns when ctx ends.
func TestPingUnansweredHonoursContext(t *testing.T) {
	addr := rawPeer(t, func(nc net.Conn) { closedByPeer(nc, longWait) })
	c := dial(t, addr, rpc.ClientOptions{HeartbeatInterval: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ping = %v, want DeadlineExceeded", err)
	}
	if c.PendingLen() != 0 {
		t.Fatal("the abandoned ping stayed pending")
	}
}

// Drain refuses new calls at once, lets pending ones finish, then closes.
func TestDrain(t *testing.T) {
	a := newArith()
	a.entered = make(chan struct{}, 1)
	_, addr := startServer(t, rpc.ServerOptions{}, a)
	c := dial(t, addr, rpc.ClientOptions{})
	call := c.Go(context.Background(), "Arith", "Block", &Args{A: 7}, new(Reply), nil)
	receive(t, a.entered, longWait, "the handler")
	c.Drain()
	if err := c.Call(context.Background(), "Arith", "Add", &Args{}, new(Reply)); !errors.Is(err, rpc.ErrDraining) {
		t.Fatalf("call on a draining connection: %v", err)
	}
	if c.State() != rpc.StateDraining {
		t.Fatalf("state %v", c.State())
	}
	a.release <- struct{}{}
	if got := receive(t, call.Done, longWait, "the pending call"); got.Error != nil || got.Reply.(*Reply).C != 7 {
		t.Fatalf("pending call: %v", got.Error)
	}
	receive(t, c.Done(), longWait, "the drained connection to close")
}

// CallUntil's own deadline times out a call like a context deadline would,
// travels to the server, and the earlier of it and ctx's applies.
func TestCallUntil(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{}, newArith())
	c := dial(t, addr, rpc.ClientOptions{})

	err := c.CallUntil(context.Background(), time.Now().Add(20*time.Millisecond), "Arith", "Block", &Args{}, new(Reply))
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a deadline-exceeded net.Error", err)
	}
	if n := c.PendingLen(); n != 0 {
		t.Fatalf("%d calls pending after the deadline", n)
	}

	var r Reply
	if err := c.CallUntil(context.Background(), time.Now().Add(time.Hour), "Arith", "Deadline", &Args{}, &r); err != nil {
		t.Fatal(err)
	}
	if r.C <= 0 || r.C > int(time.Hour.Milliseconds()) {
		t.Fatalf("the handler saw %d ms left of CallUntil's hour", r.C)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.CallUntil(ctx, time.Now().Add(time.Hour), "Arith", "Deadline", &Args{}, &r); err != nil {
		t.Fatal(err)
	}
	if r.C > int(time.Minute.Milliseconds()) {
		t.Fatalf("the handler saw %d ms left; ctx's minute is the earlier deadline", r.C)
	}
	// The pooled timer of the timed-out call must not fire into a later one.
	for range 20 {
		if err := c.CallUntil(context.Background(), time.Now().Add(time.Hour), "Arith", "Add", &Args{A: 1}, &r); err != nil {
			t.Fatal(err)
		}
	}
}
