package pool_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/longlink/longlink/internal/faultnet"
	"github.com/longlink/longlink/internal/testutil"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/rpc"
)

const longWait = 20 * time.Second

var quiet = slog.New(slog.DiscardHandler)

// Svc is the test service.
type Svc struct {
	entered chan struct{}
	release chan struct{}
}

func (s *Svc) Echo(_ context.Context, v *int) (*int, error) { return v, nil }

func (s *Svc) Block(ctx context.Context, v *int) (*int, error) {
	s.entered <- struct{}{}
	select {
	case <-s.release:
		return v, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// provider is a real rpc server on loopback.
type provider struct {
	srv  *rpc.Server
	ln   *testutil.CountingListener
	svc  *Svc
	addr string
	done chan error
}

func startProvider(t testing.TB, addr string) *provider {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{
		srv:  rpc.NewServer(rpc.ServerOptions{Logger: quiet}),
		ln:   &testutil.CountingListener{Listener: l},
		svc:  &Svc{entered: make(chan struct{}, 100), release: make(chan struct{})},
		addr: l.Addr().String(),
		done: make(chan error, 1),
	}
	if err := p.srv.RegisterName("Svc", p.svc); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.srv.Serve(p.ln) }()
	t.Cleanup(p.stop)
	return p
}

func (p *provider) stop() {
	p.srv.Close()
	<-p.done
	p.done <- nil // make stop idempotent
}

// proxied puts a fault-injecting proxy in front of addr.
func proxied(t testing.TB, addr string) *faultnet.Proxy {
	t.Helper()
	px, err := faultnet.Listen(addr, faultnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { px.Close() })
	return px
}

// fastOptions detect failures in tens of milliseconds.
func fastOptions() pool.Options {
	return pool.Options{
		Conn:    rpc.ClientOptions{HeartbeatInterval: 20 * time.Millisecond, DialTimeout: time.Second, Logger: quiet},
		Backoff: pool.Backoff{Base: 20 * time.Millisecond, Max: 100 * time.Millisecond},
		Logger:  quiet,
	}
}

func newManager(t testing.TB, opts pool.Options) *pool.Manager {
	m := pool.NewManager(opts)
	t.Cleanup(m.Close)
	return m
}

func call(ctx context.Context, p *pool.Pool, v int) error {
	c, err := p.Conn(ctx)
	if err != nil {
		return err
	}
	var out int
	if err := c.Call(ctx, "Svc", "Echo", &v, &out); err != nil {
		return err
	}
	if out != v {
		return errors.New("wrong reply")
	}
	return nil
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, longWait, what, cond)
}

// freePort returns an address on which nothing listens.
func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
