package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/rpc"
)

// Connection counts: one shared connection per address by default, N
// dedicated ones with Connections = N, none before the first use.
func TestConnectionCounts(t *testing.T) {
	tests := []struct {
		name        string
		connections int
		users       int
		want        int64 // connections the provider accepts
	}{
		{"shared by three users", 0, 3, 1},
		{"dedicated, 4", 4, 1, 4},
		{"dedicated, 2 each for two users", 2, 2, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prov := startProvider(t, "")
			m := newManager(t, fastOptions())
			var pools []*pool.Pool
			for range tc.users {
				p, release := m.Acquire(prov.addr, tc.connections)
				t.Cleanup(release)
				pools = append(pools, p)
			}
			if n := prov.ln.Accepted.Load(); n != 0 {
				t.Fatalf("%d connections before the first call", n)
			}
			// The first call dials; the maintainer then dials the rest, one
			// after another.
			for i, p := range pools {
				if err := call(context.Background(), p, i); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "all connections", func() bool { return len(p.Stats().Connections) == max(tc.connections, 1) })
			}
			var wg sync.WaitGroup
			errs := make(chan error, 400)
			for i := range 400 {
				wg.Go(func() { errs <- call(context.Background(), pools[i%len(pools)], i) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := prov.ln.Accepted.Load(); n != tc.want {
				t.Fatalf("provider accepted %d connections, want %d", n, tc.want)
			}
			for _, p := range pools {
				st := p.Stats()
				if st.State != pool.Ready || len(st.Connections) != max(tc.connections, 1) {
					t.Fatalf("stats %+v", st)
				}
				for _, c := range st.Connections {
					if c.Calls == 0 {
						t.Fatalf("a connection carried no calls: %+v", st.Connections)
					}
				}
			}
		})
	}
}

func TestSharedPoolIsTheSameForEveryUser(t *testing.T) {
	m := newManager(t, fastOptions())
	a, ra := m.Acquire("127.0.0.1:1", 0)
	b, rb := m.Acquire("127.0.0.1:1", 0)
	c, rc := m.Acquire("127.0.0.1:1", 1)
	defer ra()
	defer rb()
	defer rc()
	if a != b || a == c {
		t.Fatal("shared pools must be one per address, dedicated ones distinct")
	}
}

// Concurrent first calls on a lazy pool share one dial.
func TestConcurrentFirstCallsShareOneDial(t *testing.T) {
	prov := startProvider(t, "")
	m := newManager(t, fastOptions())
	p, release := m.Acquire(prov.addr, 0)
	defer release()
	if p.State() != pool.Idle || p.Stats().Dials != 0 {
		t.Fatalf("new pool: %+v", p.Stats())
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			<-start
			errs <- call(context.Background(), p, i)
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := p.Stats(); st.Dials != 1 || prov.ln.Accepted.Load() != 1 {
		t.Fatalf("%d dials, %d accepted; want 1 and 1", st.Dials, prov.ln.Accepted.Load())
	}
}

// A failed dial does not stick: the pool backs off, fails fast meanwhile,
// and redials in the background until the provider is there.
func TestFailedDialIsRetriedInTheBackground(t *testing.T) {
	addr := freePort(t)
	m := newManager(t, fastOptions())
	p, release := m.Acquire(addr, 0)
	defer release()

	err := call(context.Background(), p, 1)
	var ue *pool.UnavailableError
	if !errors.Is(err, pool.ErrUnavailable) || !errors.As(err, &ue) || ue.Failures < 1 {
		t.Fatalf("first call to a dead address: %v; want an *UnavailableError", err)
	}
	if p.Usable() {
		t.Fatal("a pool backing off is usable")
	}
	waitFor(t, "a few failed dials", func() bool { return p.Stats().DialFailures >= 3 })

	startProvider(t, addr) // the provider comes up; no call is made meanwhile
	waitFor(t, "the background redial", func() bool { return p.State() == pool.Ready })
	if err := call(context.Background(), p, 2); err != nil {
		t.Fatal(err)
	}
}

// Evicted at once when heartbeats fail (a frozen provider), redialled when
// it answers again; evicted and redialled at once after a reset.
func TestEvictionAndRedial(t *testing.T) {
	tests := []struct {
		name  string
		fault func(px interface {
			Freeze()
			ResetAll() int
		})
		recover func(px interface{ Pass() })
		want    error
	}{
		{"frozen provider", func(px interface {
			Freeze()
			ResetAll() int
		}) {
			px.Freeze()
		}, func(px interface{ Pass() }) { px.Pass() }, rpc.ErrHeartbeatTimeout},
		{"connection reset", func(px interface {
			Freeze()
			ResetAll() int
		}) {
			px.ResetAll()
		}, func(interface{ Pass() }) {}, rpc.ErrConnLost},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prov := startProvider(t, "")
			px := proxied(t, prov.addr)
			m := newManager(t, fastOptions())
			p, release := m.Acquire(px.Addr(), 0)
			defer release()
			if err := call(context.Background(), p, 1); err != nil {
				t.Fatal(err)
			}
			first, _ := p.Conn(context.Background())

			tc.fault(px)
			<-first.Done()
			if !errors.Is(first.Err(), tc.want) {
				t.Fatalf("connection ended with %v, want %v", first.Err(), tc.want)
			}
			if c, err := p.Conn(context.Background()); err == nil && c == first {
				t.Fatal("a dead connection is still routed to")
			}
			tc.recover(px)
			waitFor(t, "the redial", func() bool { return p.State() == pool.Ready })
			if err := call(context.Background(), p, 2); err != nil {
				t.Fatal(err)
			}
			st := p.Stats()
			if st.Evictions != 1 || st.Redials < 1 {
				t.Fatalf("stats %+v; want 1 eviction and a redial", st)
			}
			if tc.name == "connection reset" && st.DialFailures != 0 {
				t.Fatalf("the redial after a reset failed %d times (%v); the slot of the dead connection must be free at once", st.DialFailures, st.LastError)
			}
		})
	}
}

// A provider that shuts down gracefully gets no new calls on its
// connection, while the call in flight completes.
func TestDrainingProvider(t *testing.T) {
	prov := startProvider(t, "")
	m := newManager(t, fastOptions())
	p, release := m.Acquire(prov.addr, 0)
	defer release()
	c, err := p.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v := 7
	inflight := c.Go(context.Background(), "Svc", "Block", &v, new(int), nil)
	<-prov.svc.entered
	shutdown := make(chan error, 1)
	go func() { shutdown <- prov.srv.Shutdown(context.Background()) }()
	waitFor(t, "the pool to stop routing to the draining connection", func() bool { return p.State() != pool.Ready })
	if got, err := p.Conn(context.Background()); err == nil && got == c {
		t.Fatal("the draining connection is still routed to")
	}
	prov.svc.release <- struct{}{}
	if call := <-inflight.Done; call.Error != nil {
		t.Fatalf("in-flight call: %v", call.Error)
	}
	if err := <-shutdown; err != nil {
		t.Fatal(err)
	}
}

// The last release drains in-flight calls, then closes; earlier releases
// leave the shared pool working.
func TestReleaseDrainsThenCloses(t *testing.T) {
	prov := startProvider(t, "")
	m := newManager(t, fastOptions())
	p, r1 := m.Acquire(prov.addr, 0)
	_, r2 := m.Acquire(prov.addr, 0)
	if err := call(context.Background(), p, 1); err != nil {
		t.Fatal(err)
	}
	r1()
	r1() // no effect
	if err := call(context.Background(), p, 2); err != nil {
		t.Fatalf("after one of two users left: %v", err)
	}
	c, _ := p.Conn(context.Background())
	v := 3
	inflight := c.Go(context.Background(), "Svc", "Block", &v, new(int), nil)
	<-prov.svc.entered
	released := make(chan struct{})
	go func() { r2(); close(released) }()
	waitFor(t, "the pool to close to new calls", func() bool { return p.State() == pool.Closed })
	if err := call(context.Background(), p, 4); !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("call on a released pool: %v", err)
	}
	select {
	case <-released:
		t.Fatal("the last release returned with a call in flight")
	default:
	}
	prov.svc.release <- struct{}{}
	if call := <-inflight.Done; call.Error != nil {
		t.Fatalf("in-flight call: %v", call.Error)
	}
	<-released
	<-c.Done()
}

func TestManagerClose(t *testing.T) {
	prov := startProvider(t, "")
	m := pool.NewManager(fastOptions())
	p, release := m.Acquire(prov.addr, 2)
	if err := call(context.Background(), p, 1); err != nil {
		t.Fatal(err)
	}
	m.Close()
	release()
	if p.State() != pool.Closed {
		t.Fatalf("state %v after Manager.Close", p.State())
	}
	q, _ := m.Acquire(prov.addr, 0)
	if err := call(context.Background(), q, 1); !errors.Is(err, pool.ErrClosed) {
		t.Fatalf("Acquire after Close: %v", err)
	}
}

func TestConnWaitHonoursContext(t *testing.T) {
	prov := startProvider(t, "")
	px := proxied(t, prov.addr)
	px.Freeze() // the dial succeeds, the first ping is never answered
	m := newManager(t, fastOptions())
	p, release := m.Acquire(px.Addr(), 0)
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := p.Conn(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Conn = %v, want DeadlineExceeded", err)
	}
}

func TestBackoffDelay(t *testing.T) {
	b := pool.Backoff{} // gRPC's: 1 s, x1.6, +-20 %, 120 s
	tests := []struct {
		failures int
		mid      time.Duration
	}{
		{1, time.Second},
		{2, 1600 * time.Millisecond},
		{3, 2560 * time.Millisecond},
		{11, 109951162777600 / 1000}, // 1.6^10 s
		{12, 120 * time.Second},      // capped
		{100, 120 * time.Second},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.failures), func(t *testing.T) {
			for range 200 {
				d := b.Delay(tc.failures)
				if lo, hi := tc.mid*8/10, tc.mid*12/10+1; d < lo || d > hi {
					t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tc.failures, d, lo, hi)
				}
			}
		})
	}
	if d := (pool.Backoff{Base: time.Second, Jitter: -1}).Delay(1); d != time.Second {
		t.Fatalf("without jitter Delay(1) = %v", d)
	}
}
