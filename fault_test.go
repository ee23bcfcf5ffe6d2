package longlink_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/internal/consultest"
	"github.com/longlink/longlink/internal/faultnet"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

// The fault matrix: three providers registered in a real Consul agent, a
// consumer under concurrent load, and one fault at a time. For each it
// records the calls that failed, the time to recover and the connections
// left, and prints the table at the end.

// fprovider is a provider behind a proxy whose address, the one Consul
// announces, survives restarts of the provider behind it.
type fprovider struct {
	name string
	svc  *EchoSvc
	addr string // the server's own listening address
	px   *faultnet.Proxy
	srv  *rpc.Server
	p    *longlink.Provider
}

type fcluster struct {
	t       *testing.T
	agent   *consultest.Agent
	service string
	provReg *registry.Consul // what providers register through
	consReg *registry.Consul // what the consumer watches through
	ps      []*fprovider
	pool    *pool.Manager
}

func newConsul(t *testing.T, agent *consultest.Agent) *registry.Consul {
	t.Helper()
	reg, err := registry.NewConsul(registry.ConsulOptions{
		Config: &api.Config{Address: agent.Addr()}, TTL: time.Second,
		ErrorBackoff: 100 * time.Millisecond, MaxErrorBackoff: time.Second, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

func startFaultCluster(t *testing.T, agent *consultest.Agent, n int) *fcluster {
	fc := &fcluster{t: t, agent: agent, service: "Svc" + strings.NewReplacer("/", "", " ", "").Replace(t.Name()),
		provReg: newConsul(t, agent), consReg: newConsul(t, agent), pool: fastPool(t)}
	for i := range n {
		fp := &fprovider{name: fmt.Sprintf("p%d", i)}
		fc.ps = append(fc.ps, fp)
		fc.start(fp)
		t.Cleanup(func() { fp.p.Stop(context.Background()); fp.px.Close() })
	}
	return fc
}

// start serves fp (again, on its old address if it had one) and registers it.
func (fc *fcluster) start(fp *fprovider) {
	t := fc.t
	t.Helper()
	ln := listen(t, fp.addr)
	var err error
	fp.addr = ln.Addr().String()
	if fp.px == nil {
		if fp.px, err = faultnet.Listen(fp.addr, faultnet.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	fp.svc = &EchoSvc{name: fp.name}
	fp.srv = rpc.NewServer(rpc.ServerOptions{Logger: quiet})
	if err := fp.srv.RegisterName(fc.service, fp.svc); err != nil {
		t.Fatal(err)
	}
	if fp.p, err = longlink.StartProvider(context.Background(), fp.srv, ln, fc.provReg,
		longlink.ProviderOptions{Advertise: fp.px.Addr(), Logger: quiet}); err != nil {
		t.Fatal(err)
	}
}

func (fc *fcluster) client(opts longlink.ClientOptions) *longlink.Client {
	opts.Pool = fc.pool
	c := newClient(fc.t, fc.consReg, fc.service, opts)
	waitFor(fc.t, "every provider in rotation", func() bool { return fc.ready(c) == len(fc.ps) })
	return c
}

// ready counts the providers the client routes to.
func (fc *fcluster) ready(c *longlink.Client) int {
	n := 0
	for _, p := range c.Stats().Providers {
		if p.State == pool.Ready {
			n++
		}
	}
	return n
}

// row is one line of the matrix.
type row struct {
	fault     string
	calls     int64
	failed    int64
	errs      string
	recovery  time.Duration
	recovered string
	conns     string
}

var (
	matrixMu sync.Mutex
	matrix   []row
)

func record(r row) {
	matrixMu.Lock()
	matrix = append(matrix, r)
	matrixMu.Unlock()
}

// openConns describes the connections each provider's proxy holds.
func (fc *fcluster) openConns() string {
	var parts []string
	for _, p := range fc.ps {
		parts = append(parts, fmt.Sprintf("%s:%d", p.name, p.px.Stats().Open))
	}
	return strings.Join(parts, " ")
}

func TestFaultMatrix(t *testing.T) {
	agent := consultest.Start(t)
	t.Cleanup(func() {
		var b strings.Builder
		fmt.Fprintf(&b, "\n| fault | calls | failed | errors | time to recover | until | open connections after (per provider) |\n|---|---|---|---|---|---|---|\n")
		for _, r := range matrix {
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %v | %s | %s |\n", r.fault, r.calls, r.failed, r.errs, r.recovery.Round(time.Millisecond), r.recovered, r.conns)
		}
		t.Log(b.String())
	})

	t.Run("killed", func(t *testing.T) {
		fc := startFaultCluster(t, agent, 3)
		c := fc.client(longlink.ClientOptions{})
		victim := fc.ps[0]
		gate := make(chan struct{})
		victim.svc.gate.Store(&gate) // calls in flight on it when it dies
		l := startLoad(c, 16, "Echo")
		waitFor(t, "calls in flight on the victim", func() bool { return victim.svc.running.Load() > 0 })
		start := time.Now()
		victim.srv.Close() // the process dies: connections reset, dials refused, health fails
		waitFor(t, "Consul to drop the dead provider", func() bool { return len(c.Stats().Providers) == 2 })
		recovery := time.Since(start)
		l.atLeast(t, 500)
		waitFor(t, "its connections to close", func() bool { return victim.px.Stats().Open == 0 })
		l.finish(t)
		record(row{"provider killed (in-flight calls on it)", l.ok.Load(), l.failed.Load(), "-", recovery, "left Consul's passing set", fc.openConns()})
	})

	for _, tc := range []struct {
		name  string
		fault func(*faultnet.Proxy)
	}{
		{"frozen", (*faultnet.Proxy).Freeze},
		{"blackholed", (*faultnet.Proxy).Blackhole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := startFaultCluster(t, agent, 3)
			c := fc.client(longlink.ClientOptions{})
			victim := fc.ps[1]
			l := startLoad(c, 16, "Echo")
			l.atLeast(t, 300)
			evictions := providerStats(c, victim.px.Addr()).Pool.Evictions
			start := time.Now()
			tc.fault(victim.px)
			waitFor(t, "the eviction", func() bool { return providerStats(c, victim.px.Addr()).Pool.Evictions > evictions })
			evicted := time.Since(start)
			l.atLeast(t, 500)
			victim.px.Pass()
			thawed := time.Now()
			waitFor(t, "the provider back in rotation", func() bool { return fc.ready(c) == 3 })
			back := time.Since(thawed)
			l.atLeast(t, 300)
			l.finish(t)
			record(row{"provider " + tc.name + " (sockets open, nothing forwarded)", l.ok.Load(), l.failed.Load(), "-", evicted, fmt.Sprintf("evicted; back in rotation %v after the fault ended", back.Round(time.Millisecond)), fc.openConns()})
		})
	}

	t.Run("slow", func(t *testing.T) {
		fc := startFaultCluster(t, agent, 3)
		const actives = 4
		c := fc.client(longlink.ClientOptions{Balancer: longlink.LeastActive, Actives: actives, Timeout: 2 * time.Second})
		slow := fc.ps[2]
		slow.svc.delayNS.Store(int64(200 * time.Millisecond))
		l := startLoad(c, 16, "Echo")
		l.atLeast(t, 2000)
		l.finish(t)
		if peak := slow.svc.peak.Load(); peak > actives {
			t.Fatalf("the slow provider ran %d calls at once; actives is %d", peak, actives)
		}
		share := float64(slow.svc.calls.Load()) / float64(l.ok.Load())
		record(row{"provider slow (200 ms per call), least active, actives 4", l.ok.Load(), l.failed.Load(), "-", 0, fmt.Sprintf("share %.3f, peak %d in flight", share, slow.svc.peak.Load()), fc.openConns()})

		// Hanging: calls routed there end at their deadline, with a clear
		// error, and are not retried.
		hung := make(chan struct{})
		defer close(hung)
		slow.svc.delayNS.Store(0)
		slow.svc.gate.Store(&hung)
		c2 := fc.client(longlink.ClientOptions{Balancer: longlink.LeastActive, Actives: actives, Timeout: 300 * time.Millisecond})
		l2 := startLoad(c2, 16, "Echo")
		l2.atLeast(t, 2000)
		close(l2.stop)
		l2.wg.Wait()
		for _, err := range l2.errs {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("a call to a hung provider failed with %v; want its deadline", err)
			}
		}
		record(row{"provider hangs, timeout 300 ms, least active, actives 4", l2.ok.Load() + l2.failed.Load(), l2.failed.Load(), "deadline exceeded (not retried)", 0, fmt.Sprintf("at most %d calls stuck on it at a time", actives), fc.openConns()})
	})

	t.Run("restarted", func(t *testing.T) {
		// The provider's process restarts within its registration's TTL:
		// for two seconds its connections are reset and dials refused, then
		// it answers again. The pool redials with backoff meanwhile.
		fc := startFaultCluster(t, agent, 3)
		consumers := []*longlink.Client{fc.client(longlink.ClientOptions{})}
		for range 4 { // more consumers, each with its own pool: no reconnect storm between them either
			consumers = append(consumers, newClient(t, fc.consReg, fc.service, longlink.ClientOptions{Pool: fastPool(t)}))
		}
		c := consumers[0]
		victim := fc.ps[0]
		l := startLoad(c, 16, "Echo")
		l.atLeast(t, 300)
		accepted := victim.px.Stats().Accepted
		victim.px.SetRefuse(true)
		victim.px.ResetAll()
		const down = 2 * time.Second
		time.Sleep(down) // the outage itself: its length is the scenario, not a wait for a condition
		dials := victim.px.Stats().Accepted - accepted
		victim.px.SetRefuse(false)
		start := time.Now()
		waitFor(t, "the provider back in rotation", func() bool { return providerStats(c, victim.px.Addr()).State == pool.Ready })
		back := time.Since(start)
		l.atLeast(t, 300)
		l.finish(t)
		// Backoff from 50 ms, x1.6, capped at 200 ms, +-20 %: at most 16
		// dials in 2 s per consumer.
		if max := int64(16 * len(consumers)); dials > max {
			t.Fatalf("%d dials from %d consumers in %v of downtime, more than backoff allows (%d)", dials, len(consumers), down, max)
		}
		record(row{"provider unreachable 2 s, then back (restart within its TTL), 5 consumers", l.ok.Load(), l.failed.Load(), "-", back,
			fmt.Sprintf("back in rotation after the outage; %d dials from 5 consumers during it", dials), fc.openConns()})
	})

	t.Run("rolling restart", func(t *testing.T) {
		fc := startFaultCluster(t, agent, 3)
		c := fc.client(longlink.ClientOptions{})
		l := startLoad(c, 16, "Echo")
		l.atLeast(t, 300)
		start := time.Now()
		for _, fp := range fc.ps {
			if err := fp.p.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			fc.start(fp)
			waitFor(t, "the restarted provider in rotation", func() bool { return fp.svc.calls.Load() > 20 })
		}
		took := time.Since(start)
		l.atLeast(t, 300)
		l.finish(t)
		record(row{"rolling restart of all three, graceful", l.ok.Load(), l.failed.Load(), "-", took, "all three restarted and back", fc.openConns()})
	})

	t.Run("consul outage", func(t *testing.T) {
		// Its own agent: this case stops and restarts it.
		own := consultest.Start(t)
		fc := startFaultCluster(t, own, 3)
		c := fc.client(longlink.ClientOptions{})
		l := startLoad(c, 16, "Echo")
		l.atLeast(t, 300)
		own.Stop()
		const down = 2 * time.Second
		stopped := time.Now()
		l.atLeast(t, 1000) // routing goes on over the last known providers
		time.Sleep(time.Until(stopped.Add(down)))
		if n := len(c.Stats().Providers); n != 3 {
			t.Fatalf("%d providers known during the outage, want the last 3", n)
		}
		start := time.Now()
		own.Restart(t) // a -dev agent comes back empty; registrations re-register themselves
		waitFor(t, "the providers to be registered again", func() bool {
			entries, _, err := fc.consReg.Client().Health().Service(fc.service, "", true, nil)
			return err == nil && len(entries) == 3
		})
		back := time.Since(start)
		l.atLeast(t, 300)
		l.finish(t)
		record(row{"Consul agent stopped 2 s, then restarted empty", l.ok.Load(), l.failed.Load(), "-", back,
			"providers registered again after the restart; routing never stopped", fc.openConns()})
	})

	t.Run("removed from the registry", func(t *testing.T) {
		fc := startFaultCluster(t, agent, 3)
		// A fourth provider, registered by hand so that it can leave the
		// registry while it keeps serving.
		extra := &fprovider{name: "p3"}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		extra.svc = &EchoSvc{name: "p3"}
		extra.srv = rpc.NewServer(rpc.ServerOptions{Logger: quiet})
		extra.srv.RegisterName(fc.service, extra.svc)
		go extra.srv.Serve(ln)
		defer extra.srv.Close()
		if extra.px, err = faultnet.Listen(ln.Addr().String(), faultnet.Options{}); err != nil {
			t.Fatal(err)
		}
		defer extra.px.Close()
		host, port, _ := net.SplitHostPort(extra.px.Addr())
		var p int
		fmt.Sscan(port, &p)
		reg, err := fc.provReg.Register(context.Background(), registry.Instance{Service: fc.service, Host: host, Port: p}, registry.RegisterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fc.ps = append(fc.ps, extra)
		c := fc.client(longlink.ClientOptions{})
		l := startLoad(c, 16, "Echo")
		l.atLeast(t, 300)
		start := time.Now()
		reg.Deregister(context.Background())
		waitFor(t, "its connections to close", func() bool { return extra.px.Stats().Open == 0 })
		closed := time.Since(start)
		accepted := extra.px.Stats().Accepted
		l.atLeast(t, 1000) // and through all that, no new connection to it
		if n := extra.px.Stats().Accepted; n != accepted {
			t.Fatalf("%d dials to a provider that left the registry", n-accepted)
		}
		l.finish(t)
		record(row{"provider removed from the registry (still serving)", l.ok.Load(), l.failed.Load(), "-", closed, "its connections closed; no dial after", fc.openConns()})
	})
}
