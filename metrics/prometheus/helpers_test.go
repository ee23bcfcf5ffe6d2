package prometheus_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/internal/faultnet"
	"github.com/longlink/longlink/internal/testutil"
	"github.com/longlink/longlink/metrics"
	longlinkprom "github.com/longlink/longlink/metrics/prometheus"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

const longWait = 30 * time.Second

var quiet = slog.New(slog.DiscardHandler)

// Svc is the test service.
type Svc struct {
	gate chan struct{} // Hold waits for it to close
}

func (s *Svc) Echo(_ context.Context, v *int) (*int, error) { return v, nil }

func (s *Svc) Fail(context.Context, *int) (*int, error) { return nil, errors.New("declined") }

func (s *Svc) Panic(context.Context, *int) (*int, error) { panic("boom") }

// Hang returns when the caller's deadline passes.
func (s *Svc) Hang(ctx context.Context, _ *int) (*int, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *Svc) Hold(ctx context.Context, v *int) (*int, error) {
	select {
	case <-s.gate:
		return v, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// env is one process's worth of longlink with Prometheus metrics: a
// registry of metrics, a recorder, a pool manager and an in-process service
// registry.
type env struct {
	prom  *prom.Registry
	rec   *longlinkprom.Recorder
	pools *pool.Manager
	names *registry.Memory
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{prom: prom.NewRegistry(), names: registry.NewMemory()}
	var err error
	if e.rec, err = longlinkprom.NewRecorder(e.prom, longlinkprom.Options{}); err != nil {
		t.Fatal(err)
	}
	e.pools = pool.NewManager(pool.Options{
		Conn: rpc.ClientOptions{
			HeartbeatInterval: 100 * time.Millisecond, MaxMissedHeartbeats: 3,
			DialTimeout: 200 * time.Millisecond, Logger: quiet,
		},
		Backoff:      pool.Backoff{Base: 50 * time.Millisecond, Max: 200 * time.Millisecond},
		DrainTimeout: time.Second,
		Logger:       quiet,
		Metrics:      e.rec,
	})
	t.Cleanup(e.pools.Close)
	e.prom.MustRegister(longlinkprom.NewPoolCollector(e.pools))
	return e
}

// provider is an rpc server recording server metrics, behind a proxy whose
// address is registered as a provider of "Echo".
type provider struct {
	srv    *rpc.Server
	svc    *Svc
	px     *faultnet.Proxy
	reg    registry.Registration
	served chan error
	once   sync.Once
}

func (e *env) startProvider(t testing.TB) *provider {
	t.Helper()
	p := &provider{svc: &Svc{gate: make(chan struct{})}, served: make(chan error, 1)}
	p.srv = rpc.NewServer(rpc.ServerOptions{
		Logger:       quiet,
		Interceptors: []rpc.ServerInterceptor{metrics.ServerInterceptor(e.rec)},
	})
	if err := p.srv.RegisterName("Echo", p.svc); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { p.served <- p.srv.Serve(ln) }()
	t.Cleanup(p.kill)
	if p.px, err = faultnet.Listen(ln.Addr().String(), faultnet.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.px.Close() })
	host, port, _ := net.SplitHostPort(p.px.Addr())
	n, _ := strconv.Atoi(port)
	p.reg, err = e.names.Register(context.Background(), registry.Instance{Service: "Echo", Host: host, Port: n}, registry.RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.reg.Deregister(context.Background()) })
	return p
}

// kill closes the server at once, as a crash would.
func (p *provider) kill() {
	p.once.Do(func() {
		p.srv.Close()
		<-p.served
	})
}

func (e *env) client(t testing.TB, service string, opts longlink.ClientOptions) *longlink.Client {
	t.Helper()
	opts.Pool, opts.Metrics, opts.Logger = e.pools, e.rec, quiet
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	c, err := longlink.NewClient(e.names, service, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// value scrapes the registry and returns the value of the series name with
// the given label pairs ("k1", "v1", ...): a counter's or gauge's value, a
// histogram's sample count; 0 if there is no such series.
func value(t testing.TB, g prom.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
					continue series
				}
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount())
			}
			t.Fatalf("%s: unexpected type %v", name, mf.GetType())
		}
	}
	return 0
}

// expect checks a series' value now.
func expect(t testing.TB, g prom.Gatherer, want float64, name string, labels ...string) {
	t.Helper()
	if got := value(t, g, name, labels...); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// await waits until a series has reached at least min.
func await(t testing.TB, g prom.Gatherer, min float64, name string, labels ...string) {
	t.Helper()
	waitFor(t, name+" >= "+strconv.FormatFloat(min, 'g', -1, 64), func() bool { return value(t, g, name, labels...) >= min })
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, longWait, what, cond)
}

func call(ctx context.Context, c *longlink.Client, method string) error {
	v, out := 1, 0
	return c.Call(ctx, method, &v, &out)
}
