package longlink_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/internal/faultnet"
	"github.com/longlink/longlink/internal/testutil"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

const longWait = 30 * time.Second

var quiet = slog.New(slog.DiscardHandler)

// Msg is what the test service echoes; From names the provider that answered.
type Msg struct {
	ID   int
	From string
}

// EchoSvc is the test service. Hold-ing calls count their concurrency.
type EchoSvc struct {
	name    string
	calls   atomic.Int64
	running atomic.Int64
	peak    atomic.Int64
	delayNS atomic.Int64                  // Echo sleeps this long, counting concurrency
	gate    atomic.Pointer[chan struct{}] // when set, Echo blocks until it closes or ctx ends
}

func (s *EchoSvc) Echo(ctx context.Context, m *Msg) (*Msg, error) {
	s.calls.Add(1)
	if g := s.gate.Load(); g != nil {
		s.running.Add(1)
		defer s.running.Add(-1)
		select {
		case <-*g:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if d := time.Duration(s.delayNS.Load()); d > 0 {
		n := s.running.Add(1)
		for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
		}
		time.Sleep(d)
		s.running.Add(-1)
	}
	return &Msg{ID: m.ID, From: s.name}, nil
}

// Hold records how many calls run at once.
func (s *EchoSvc) Hold(_ context.Context, m *Msg) (*Msg, error) {
	s.calls.Add(1)
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	time.Sleep(2 * time.Millisecond)
	return &Msg{ID: m.ID, From: s.name}, nil
}

// Meta answers with the value of the caller's metadata key "k".
func (s *EchoSvc) Meta(ctx context.Context, m *Msg) (*Msg, error) {
	s.calls.Add(1)
	return &Msg{ID: m.ID, From: rpc.IncomingMetadata(ctx)["k"]}, nil
}

// Fail is an application error.
func (s *EchoSvc) Fail(_ context.Context, m *Msg) (*Msg, error) {
	s.calls.Add(1)
	return nil, errors.New("invalid order")
}

// provider is a real rpc server behind a fault-injecting proxy; the proxy's
// address is what the registry announces.
type provider struct {
	name   string
	srv    *rpc.Server
	ln     *testutil.CountingListener
	px     *faultnet.Proxy
	svc    *EchoSvc
	reg    registry.Registration
	served chan error
	once   sync.Once
}

func (p *provider) addr() string { return p.px.Addr() }

// kill closes the provider at once, as a crash would (its registration stays).
func (p *provider) kill() {
	p.once.Do(func() {
		p.srv.Close()
		<-p.served
	})
}

type cluster struct {
	reg       *registry.Memory
	providers []*provider
}

// startCluster starts n providers of the services, registered in an
// in-process registry.
func startCluster(t *testing.T, n int, services ...string) *cluster {
	t.Helper()
	if len(services) == 0 {
		services = []string{"Echo"}
	}
	cl := &cluster{reg: registry.NewMemory()}
	for i := range n {
		p := &provider{name: "p" + strconv.Itoa(i), served: make(chan error, 1)}
		p.svc = &EchoSvc{name: p.name}
		p.srv = rpc.NewServer(rpc.ServerOptions{Logger: quiet})
		for _, s := range services {
			if err := p.srv.RegisterName(s, p.svc); err != nil {
				t.Fatal(err)
			}
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.ln = &testutil.CountingListener{Listener: l}
		go func() { p.served <- p.srv.Serve(p.ln) }()
		if p.px, err = faultnet.Listen(l.Addr().String(), faultnet.Options{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.px.Close() })
		t.Cleanup(p.kill)
		cl.providers = append(cl.providers, p)
		for _, s := range services {
			cl.register(t, p, s, registry.Instance{})
		}
	}
	return cl
}

// register announces p as a provider of service; extra fields come from tmpl.
func (cl *cluster) register(t *testing.T, p *provider, service string, tmpl registry.Instance) {
	t.Helper()
	host, port, _ := net.SplitHostPort(p.addr())
	inst := tmpl
	inst.Service, inst.Host = service, host
	inst.Port, _ = strconv.Atoi(port)
	reg, err := cl.reg.Register(context.Background(), inst, registry.RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.reg = reg
	t.Cleanup(func() { reg.Deregister(context.Background()) })
}

// fastPool detects dead connections within 200 ms and redials quickly.
func fastPool(t *testing.T) *pool.Manager {
	if os.Getenv("LL_DEBUG") != "" {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m := pool.NewManager(pool.Options{
		Conn:    rpc.ClientOptions{HeartbeatInterval: 50 * time.Millisecond, MaxMissedHeartbeats: 3, Logger: quiet},
		Backoff: pool.Backoff{Base: 50 * time.Millisecond, Max: 200 * time.Millisecond},
		Logger:  quiet,
	})
	t.Cleanup(m.Close)
	return m
}

func newClient(t *testing.T, reg registry.Registry, service string, opts longlink.ClientOptions) *longlink.Client {
	t.Helper()
	if opts.Pool == nil {
		opts.Pool = fastPool(t)
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	c, err := longlink.NewClient(reg, service, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// load runs workers that call method in a loop until stopped.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []error
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startLoad(c *longlink.Client, workers int, method string) *load {
	l := &load{stop: make(chan struct{})}
	for w := range workers {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				var out Msg
				if err := c.Call(context.Background(), method, &Msg{ID: w*1_000_000 + i}, &out); err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					if len(l.errs) < 10 {
						l.errs = append(l.errs, err)
					}
					l.mu.Unlock()
				} else {
					l.ok.Add(1)
				}
			}
		})
	}
	return l
}

// finish stops the load and fails the test if any call failed.
func (l *load) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d of %d calls failed; first errors: %v", n, n+l.ok.Load(), l.errs)
	}
	t.Logf("%d calls, none failed", l.ok.Load())
}

// atLeast waits until the load has completed n more calls.
func (l *load) atLeast(t *testing.T, n int64) {
	t.Helper()
	target := l.ok.Load() + n
	waitFor(t, fmt.Sprintf("%d more calls", n), func() bool { return l.ok.Load() >= target || l.failed.Load() > 0 })
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, longWait, what, cond)
}

// providerStats returns the client's view of the provider at addr.
// listen listens on addr, or on a free loopback port if addr is empty. A
// provider restarted on its old address may find the port not yet released
// by the listener it had, so binding is retried for up to longWait.
func listen(t testing.TB, addr string) net.Listener {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	deadline := time.Now().Add(longWait)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listening on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitReady waits until c knows n providers, each connected: until then
// routing skips a provider still dialling, and a distribution measured over
// the calls would miss it.
func waitReady(t testing.TB, c *longlink.Client, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d providers ready", n), func() bool {
		st := c.Stats().Providers
		for _, p := range st {
			if p.State != pool.Ready {
				return false
			}
		}
		return len(st) == n
	})
}

func providerStats(c *longlink.Client, addr string) longlink.ProviderStats {
	for _, p := range c.Stats().Providers {
		if p.Addr == addr {
			return p
		}
	}
	return longlink.ProviderStats{}
}

// hasProvider reports whether c routes to addr.
func hasProvider(c *longlink.Client, addr string) bool {
	for _, p := range c.Stats().Providers {
		if p.Addr == addr {
			return true
		}
	}
	return false
}

func call(t *testing.T, c *longlink.Client, method string, id int) (*Msg, error) {
	t.Helper()
	var out Msg
	err := c.Call(context.Background(), method, &Msg{ID: id}, &out)
	return &out, err
}
