package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/longlink/longlink/internal/testutil"
	"github.com/longlink/longlink/rpc"
)

// Arith is the test service.
type Arith struct {
	release chan struct{} // Block waits on it
	entered chan struct{} // Block signals on entry, if set
	exited  chan struct{} // Block signals on return, if set
}

type Args struct{ A, B int }
type Reply struct{ C int }

func (a *Arith) Add(_ context.Context, x *Args) (*Reply, error) { return &Reply{C: x.A + x.B}, nil }

func (a *Arith) Sub(_ context.Context, x *Args) (*Reply, error) { return &Reply{C: x.A - x.B}, nil }

func (a *Arith) Div(_ context.Context, x *Args) (*Reply, error) {
	if x.B == 0 {
		return nil, errors.New("divide by zero")
	}
	return &Reply{C: x.A / x.B}, nil
}

// Sleepy fails as a handler whose own downstream deadline passed.
func (a *Arith) Sleepy(context.Context, *Args) (*Reply, error) {
	return nil, fmt.Errorf("querying the database: %w", context.DeadlineExceeded)
}

func (a *Arith) Panic(_ context.Context, _ *Args) (*Reply, error) { panic("kaboom") }

// Block returns only when released or when ctx ends.
func (a *Arith) Block(ctx context.Context, x *Args) (*Reply, error) {
	if a.entered != nil {
		a.entered <- struct{}{}
	}
	if a.exited != nil {
		defer func() { a.exited <- struct{}{} }()
	}
	select {
	case <-a.release:
		return &Reply{C: x.A}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Deadline reports the remaining time the handler sees, in ms, or -1.
func (a *Arith) Deadline(ctx context.Context, _ *Args) (*Reply, error) {
	d, ok := ctx.Deadline()
	if !ok {
		return &Reply{C: -1}, nil
	}
	return &Reply{C: int(time.Until(d).Milliseconds())}, nil
}

// MetaReply reports the metadata a handler saw.
type MetaReply struct {
	N int    // pairs
	K string // the value of "k"
}

func (a *Arith) Meta(ctx context.Context, _ *Args) (*MetaReply, error) {
	md := rpc.IncomingMetadata(ctx)
	return &MetaReply{N: len(md), K: md["k"]}, nil
}

// Echo returns its argument, to test value types and large bodies.
func (a *Arith) Echo(_ context.Context, s string) (string, error) { return s, nil }

// Any echoes an untyped argument: msgpack decodes nested arrays into it
// recursively.
func (a *Arith) Any(_ context.Context, v any) (any, error) { return v, nil }

// Sum adds up a slice: msgpack preallocates the slice at its claimed length.
func (a *Arith) Sum(_ context.Context, xs []int) (int, error) {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n, nil
}

// Big returns a reply of x.A bytes.
func (a *Arith) Big(_ context.Context, x *Args) (string, error) { return strings.Repeat("b", x.A), nil }

func newArith() *Arith { return &Arith{release: make(chan struct{})} }

// logBuffer collects a component's log records for assertions.
type logBuffer struct{ testutil.SyncBuffer }

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// quietLogger discards records.
var quietLogger = slog.New(slog.DiscardHandler)

// startServer serves rcvr as "Arith" on loopback TCP until the test ends.
func startServer(t testing.TB, opts rpc.ServerOptions, rcvr any) (*rpc.Server, string) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger
	}
	srv := rpc.NewServer(opts)
	if err := srv.RegisterName("Arith", rcvr); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, rpc.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return srv, ln.Addr().String()
}

// dial connects to addr until the test ends.
func dial(t testing.TB, addr string, opts rpc.ClientOptions) *rpc.Conn {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger
	}
	c, err := rpc.Dial(context.Background(), addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, within, what, cond)
}

// receive waits for a value from ch.
func receive[T any](t testing.TB, ch <-chan T, within time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("waited %v for %s", within, what)
		panic("unreachable")
	}
}

// rawPeer listens on loopback, accepts one connection and hands it to serve
// on a goroutine of its own. When the test ends the connection and the
// listener close and the goroutine is waited for. It returns the address.
func rawPeer(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted, done := make(chan net.Conn, 1), make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		accepted <- nc
		serve(nc)
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case nc := <-accepted:
			nc.Close()
		default:
		}
		<-done
	})
	return ln.Addr().String()
}

// rawConn opens a plain TCP connection for writing hand-made frames.
func rawConn(t testing.TB, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// closedByPeer reports whether the server closed nc: a read returns EOF or
// a reset within the wait.
func closedByPeer(nc net.Conn, within time.Duration) error {
	nc.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 4096)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("connection still open after %v", within)
		}
		return nil
	}
}

// longWait bounds waits for things that should happen promptly; generous,
// because the machine is small and shared.
const longWait = 10 * time.Second

func readProtocolDoc(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
