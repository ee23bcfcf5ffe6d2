package longlink_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/internal/testutil"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

// End-to-end: real providers on loopback TCP behind fault-injecting
// proxies, an in-process registry, a client under concurrent load.

// A provider killed with calls in flight: those calls fail in transport and
// are retried elsewhere; no caller sees an error; the dead provider is
// skipped from then on.
func TestKilledProviderUnderLoad(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{})
	victim := cl.providers[0]
	gate := make(chan struct{})
	victim.svc.gate.Store(&gate) // its calls hang until it dies

	l := startLoad(c, 16, "Echo")
	waitFor(t, "calls in flight on the victim", func() bool { return victim.svc.running.Load() >= 3 })
	victim.kill()
	l.atLeast(t, 1000)
	l.finish(t)

	st := providerStats(c, victim.addr())
	if st.Failures == 0 || st.State == pool.Ready {
		t.Fatalf("victim: %d failed attempts, state %v; want failures retried and the provider skipped", st.Failures, st.State)
	}
	t.Logf("victim: %d attempts failed and were retried; state %v", st.Failures, st.State)
}

// A provider that freezes (a proxy stops forwarding, sockets stay open) is
// evicted within the heartbeat budget; traffic moves to the others with no
// failed call; when it thaws it is redialled and serves again.
func TestFrozenProviderEvictedAndRedialled(t *testing.T) {
	const interval, missed = 50 * time.Millisecond, 3
	budget := interval * (missed + 1)
	cl := startCluster(t, 3)
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{}) // fastPool: 50 ms x 3
	frozen := cl.providers[1]

	l := startLoad(c, 8, "Echo")
	waitFor(t, "traffic on every provider", func() bool {
		for _, p := range cl.providers {
			if p.svc.calls.Load() < 50 {
				return false
			}
		}
		return true
	})
	evictions := providerStats(c, frozen.addr()).Pool.Evictions
	start := time.Now()
	frozen.px.Freeze()
	waitFor(t, "the frozen provider's eviction", func() bool {
		return providerStats(c, frozen.addr()).Pool.Evictions > evictions
	})
	detected := time.Since(start)
	t.Logf("frozen provider evicted %v after the freeze (heartbeat budget %v)", detected.Round(time.Millisecond), budget)
	if detected > 10*budget {
		t.Fatalf("eviction took %v, far beyond the heartbeat budget of %v", detected, budget)
	}

	servedWhileFrozen := frozen.svc.calls.Load()
	l.atLeast(t, 1000)
	if n := frozen.svc.calls.Load(); n != servedWhileFrozen {
		t.Fatalf("the frozen provider received %d calls after its eviction", n-servedWhileFrozen)
	}
	frozen.px.Pass()
	waitFor(t, "the thawed provider to be redialled and serve", func() bool {
		return frozen.svc.calls.Load() > servedWhileFrozen+50
	})
	l.finish(t)
	if st := providerStats(c, frozen.addr()); st.State != pool.Ready || st.Pool.Redials < 1 {
		t.Fatalf("thawed provider: %+v", st.Pool)
	}
}

// Exactly one shared connection per provider by default, whatever the
// number of clients and services; exactly N with Connections = N; none
// before the first call with Lazy; one per provider at once without it.
func TestConnectionCounts(t *testing.T) {
	accepted := func(cl *cluster) (n []int64) {
		for _, p := range cl.providers {
			n = append(n, p.ln.Accepted.Load())
		}
		return n
	}
	each := func(ns []int64, want int64) bool {
		for _, n := range ns {
			if n != want {
				return false
			}
		}
		return true
	}
	t.Run("shared by two clients of two services", func(t *testing.T) {
		cl := startCluster(t, 3, "Echo", "Echo2")
		m := fastPool(t)
		a := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Pool: m})
		b := newClient(t, cl.reg, "Echo2", longlink.ClientOptions{Pool: m})
		for i := range 300 {
			for _, c := range []*longlink.Client{a, b} {
				if _, err := call(t, c, "Echo", i); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got := accepted(cl); !each(got, 1) {
			t.Fatalf("connections accepted per provider: %v, want 1 each", got)
		}
	})
	t.Run("Connections = 3", func(t *testing.T) {
		cl := startCluster(t, 3)
		c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Connections: 3})
		waitFor(t, "3 connections per provider", func() bool { return each(accepted(cl), 3) })
		for i := range 300 {
			if _, err := call(t, c, "Echo", i); err != nil {
				t.Fatal(err)
			}
		}
		if got := accepted(cl); !each(got, 3) {
			t.Fatalf("connections accepted per provider: %v, want 3 each", got)
		}
	})
	t.Run("lazy: none before the first call", func(t *testing.T) {
		cl := startCluster(t, 3)
		c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Lazy: true})
		waitFor(t, "the providers to be known", func() bool { return len(c.Stats().Providers) == 3 })
		for _, p := range c.Stats().Providers {
			if p.State != pool.Idle {
				t.Fatalf("lazy client: provider %s is %v before any call", p.Addr, p.State)
			}
		}
		if got := accepted(cl); !each(got, 0) {
			t.Fatalf("connections before the first call: %v", got)
		}
		if _, err := call(t, c, "Echo", 1); err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, n := range accepted(cl) {
			total += n
		}
		if total != 1 {
			t.Fatalf("one call opened %d connections", total)
		}
	})
	t.Run("eager: one per provider without a call", func(t *testing.T) {
		cl := startCluster(t, 3)
		newClient(t, cl.reg, "Echo", longlink.ClientOptions{})
		waitFor(t, "a connection to every provider", func() bool { return each(accepted(cl), 1) })
	})
}

// Actives caps this client's concurrent calls per provider per method
// exactly; a call that cannot get a slot before its deadline fails with
// ErrLimitExceeded.
func TestActivesLimitHeld(t *testing.T) {
	const limit = 4
	cl := startCluster(t, 3)
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Actives: limit, Balancer: longlink.RoundRobin})
	l := startLoad(c, 60, "Hold")
	l.atLeast(t, 2000)
	l.finish(t)
	reached := false
	for _, p := range cl.providers {
		peak := p.svc.peak.Load()
		if peak > limit {
			t.Fatalf("provider %s ran %d Hold calls at once, limit %d", p.name, peak, limit)
		}
		reached = reached || peak == limit
	}
	if !reached {
		t.Fatal("no provider ever reached the limit: the test did not load it")
	}

	one := startCluster(t, 1)
	c = newClient(t, one.reg, "Echo", longlink.ClientOptions{Actives: 1})
	gate := make(chan struct{})
	one.providers[0].svc.gate.Store(&gate)
	held := make(chan error, 1)
	go func() { _, err := call(t, c, "Echo", 1); held <- err }()
	waitFor(t, "the first call to hold the slot", func() bool { return one.providers[0].svc.running.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, "Echo", &Msg{}, new(Msg))
	if !errors.Is(err, pool.ErrLimitExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("over the limit: %v", err)
	}
	// Without a deadline in ctx, the client's Timeout bounds the wait.
	c2 := newClient(t, one.reg, "Echo", longlink.ClientOptions{Actives: 1, Timeout: 30 * time.Millisecond})
	held2 := make(chan error, 1)
	go func() { // holds the slot with a deadline of its own, longer than Timeout
		ctx, cancel := context.WithTimeout(context.Background(), longWait)
		defer cancel()
		held2 <- c2.Call(ctx, "Echo", &Msg{}, new(Msg))
	}()
	waitFor(t, "the slot to be held", func() bool { return one.providers[0].svc.running.Load() == 2 })
	if err := c2.Call(context.Background(), "Echo", &Msg{}, new(Msg)); !errors.Is(err, pool.ErrLimitExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("over the limit, bounded by Timeout: %v", err)
	}
	close(gate)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-held2; err != nil {
		t.Fatalf("the call that held the slot: %v", err)
	}
}

// Sticky: calls stay on the provider first picked; when it announces
// closing they move to another and stay there; when that one leaves the
// registry they move again.
func TestStickyStaysThenMoves(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Sticky: true})
	stickTo := func(phase string) string {
		t.Helper()
		first, err := call(t, c, "Echo", 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			m, err := call(t, c, "Echo", i)
			if err != nil {
				t.Fatal(err)
			}
			if m.From != first.From {
				t.Fatalf("%s: call %d went to %s, not %s", phase, i, m.From, first.From)
			}
		}
		return first.From
	}
	byName := func(name string) *provider {
		for _, p := range cl.providers {
			if p.name == name {
				return p
			}
		}
		t.Fatalf("no provider %s", name)
		return nil
	}

	p1 := stickTo("at first")
	shutdown := make(chan error, 1)
	go func() { shutdown <- byName(p1).srv.Shutdown(context.Background()) }()
	waitFor(t, "the closing announcement", func() bool { return providerStats(c, byName(p1).addr()).State != pool.Ready })
	p2 := stickTo("after the first provider announced closing")
	if p2 == p1 {
		t.Fatal("calls stayed on the closing provider")
	}
	if err := <-shutdown; err != nil {
		t.Fatal(err)
	}

	byName(p2).reg.Deregister(context.Background())
	waitFor(t, "the client to see the departure", func() bool { return len(c.Stats().Providers) == 2 })
	p3 := stickTo("after the second provider left the registry")
	if p3 == p2 || p3 == p1 {
		t.Fatalf("calls went to %s after %s left and %s closed", p3, p2, p1)
	}
}

// A provider that shuts down gracefully under load loses no call: it gets
// no new calls once it has announced closing, and finishes those in flight.
func TestGracefulProviderShutdownLosesNoCall(t *testing.T) {
	cl := startCluster(t, 3)
	for _, p := range cl.providers {
		p.svc.delayNS.Store(int64(time.Millisecond))
	}
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{})
	l := startLoad(c, 16, "Echo")
	l.atLeast(t, 500)
	leaving := cl.providers[2]
	ctx, cancel := context.WithTimeout(context.Background(), longWait)
	defer cancel()
	if err := leaving.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	served := leaving.svc.calls.Load()
	l.atLeast(t, 500)
	l.finish(t)
	if n := leaving.svc.calls.Load(); n != served {
		t.Fatalf("the provider got %d calls after its shutdown completed", n-served)
	}
}

// An application error is returned as it is, after one attempt.
func TestApplicationErrorsAreNotRetried(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{})
	_, err := call(t, c, "Fail", 1)
	var re *rpc.RemoteError
	if !errors.As(err, &re) || re.Status != rpc.StatusApplication || re.Message != "invalid order" {
		t.Fatalf("err = %v, want the provider's error", err)
	}
	var attempts int64
	for _, p := range cl.providers {
		attempts += p.svc.calls.Load()
	}
	if attempts != 1 {
		t.Fatalf("%d attempts for an application error, want 1", attempts)
	}
}

// Failover never goes past the deadline: a call whose providers all hang
// returns the context's error when its deadline passes.
func TestFailoverStopsAtTheDeadline(t *testing.T) {
	cl := startCluster(t, 3)
	gate := make(chan struct{})
	defer close(gate)
	for _, p := range cl.providers {
		p.svc.gate.Store(&gate)
	}
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Timeout: 100 * time.Millisecond})
	_, err := call(t, c, "Echo", 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	var attempts int64
	for _, p := range cl.providers {
		attempts += p.svc.calls.Load()
	}
	if attempts != 1 {
		t.Fatalf("%d attempts; a call past its deadline must not be retried", attempts)
	}
}

func TestNoProvider(t *testing.T) {
	reg := registry.NewMemory()
	c := newClient(t, reg, "Nobody", longlink.ClientOptions{Timeout: time.Second})
	_, err := call(t, c, "Echo", 1)
	var np *longlink.NoProviderError
	if !errors.Is(err, longlink.ErrNoProvider) || !errors.As(err, &np) || np.Service != "Nobody" {
		t.Fatalf("err = %v, want a *NoProviderError for Nobody", err)
	}
}

func TestStats(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{})
	for i := range 90 {
		if _, err := call(t, c, "Echo", i); err != nil {
			t.Fatal(err)
		}
	}
	st := c.Stats()
	if st.Service != "Echo" || len(st.Providers) != 3 {
		t.Fatalf("stats %+v", st)
	}
	var calls uint64
	for _, p := range st.Providers {
		calls += p.Calls
		if p.State != pool.Ready || len(p.Pool.Connections) != 1 || p.Pool.Connections[0].State != rpc.StateReady {
			t.Fatalf("provider %+v", p)
		}
	}
	if calls != 90 {
		t.Fatalf("%d calls counted, want 90", calls)
	}
	waitFor(t, "heartbeat round trips", func() bool {
		for _, p := range c.Stats().Providers {
			if p.Pool.Connections[0].LastHeartbeatRTT == 0 {
				return false
			}
		}
		return true
	})
}

func TestCallAfterClose(t *testing.T) {
	cl := startCluster(t, 1)
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{})
	if _, err := call(t, c, "Echo", 1); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := call(t, c, "Echo", 2); !errors.Is(err, longlink.ErrClosed) {
		t.Fatalf("call after Close: %v, want ErrClosed", err)
	}
}

// An empty list from the registry keeps the last known providers (empty
// protection), unless disabled.
func TestEmptyProtection(t *testing.T) {
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprint("disabled=", disable), func(t *testing.T) {
			cl := startCluster(t, 2)
			var logs testutil.SyncBuffer
			c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{DisableEmptyProtection: disable, Timeout: time.Second,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			waitFor(t, "both providers", func() bool { return len(c.Stats().Providers) == 2 })
			cl.providers[0].reg.Deregister(context.Background())
			waitFor(t, "the first departure", func() bool { return len(c.Stats().Providers) == 1 })
			cl.providers[1].reg.Deregister(context.Background()) // the registry now lists none
			if disable {
				waitFor(t, "the client to drop the last provider", func() bool { return len(c.Stats().Providers) == 0 })
				if _, err := call(t, c, "Echo", 1); !errors.Is(err, longlink.ErrNoProvider) {
					t.Fatalf("err = %v, want ErrNoProvider", err)
				}
				return
			}
			waitFor(t, "the empty list to arrive", func() bool { return strings.Contains(logs.String(), "empty protection") })
			// The last provider still serves: calls keep reaching it.
			for i := range 50 {
				if _, err := call(t, c, "Echo", i); err != nil {
					t.Fatalf("call %d after the registry emptied: %v", i, err)
				}
			}
			if n := len(c.Stats().Providers); n != 1 {
				t.Fatalf("%d providers known, want the last one kept", n)
			}
		})
	}
}
