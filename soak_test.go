package longlink_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/internal/faultnet"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

// soakDuration is LONGLINK_SOAK if set, a minute in CI, else five seconds.
func soakDuration(t *testing.T) time.Duration {
	if s := os.Getenv("LONGLINK_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("LONGLINK_SOAK=%q: %v", s, err)
		}
		return d
	}
	if os.Getenv("CI") == "true" {
		return time.Minute
	}
	return 5 * time.Second
}

// slot is one provider position: a stable proxy address in the registry,
// and whatever provider currently serves behind it.
type slot struct {
	name string
	px   *faultnet.Proxy
	addr string // the server behind the proxy
	p    *longlink.Provider
	srv  *rpc.Server
	echo *EchoSvc
}

func (s *slot) svc() *EchoSvc { return s.echo }

func (s *slot) start(t *testing.T, reg registry.Registry) {
	t.Helper()
	ln := listen(t, s.addr)
	var err error
	s.addr = ln.Addr().String()
	if s.px == nil {
		if s.px, err = faultnet.Listen(s.addr, faultnet.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	s.srv = rpc.NewServer(rpc.ServerOptions{Logger: quiet})
	s.echo = &EchoSvc{name: s.name}
	s.srv.RegisterName("Echo", s.echo)
	if s.p, err = longlink.StartProvider(context.Background(), s.srv, ln, reg, longlink.ProviderOptions{Advertise: s.px.Addr(), Logger: quiet}); err != nil {
		t.Fatal(err)
	}
}

// A bounded soak: constant provider churn under load. Nothing retryable
// fails; afterwards goroutines and heap are back where they were and no
// connection is left behind.
func TestSoak(t *testing.T) {
	duration := soakDuration(t)
	reg := registry.NewMemory()
	slots := make([]*slot, 4)
	for i := range slots {
		slots[i] = &slot{name: fmt.Sprintf("p%d", i)}
		slots[i].start(t, reg)
	}
	defer func() {
		for _, s := range slots {
			s.p.Stop(context.Background())
			s.px.Close()
		}
	}()
	c := newClient(t, reg, "Echo", longlink.ClientOptions{})
	ready := func() int {
		n := 0
		for _, p := range c.Stats().Providers {
			if p.State == pool.Ready {
				n++
			}
		}
		return n
	}
	waitFor(t, "all providers ready", func() bool { return ready() == len(slots) })
	l := startLoad(c, 16, "Echo")
	l.atLeast(t, 500)
	goroutines, heap := settled()

	events := map[string]int{}
	rng := rand.New(rand.NewPCG(1, 2))
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		s := slots[rng.IntN(len(slots))]
		evictions := providerStats(c, s.px.Addr()).Pool.Evictions
		evicted := func() bool { return providerStats(c, s.px.Addr()).Pool.Evictions > evictions }
		switch rng.IntN(4) {
		case 0: // graceful restart
			s.p.Stop(context.Background())
			s.start(t, reg)
			events["graceful restart"]++
		case 1: // crash and come back
			s.srv.Close()
			// Noticed either way: the connection's end evicts it, or the
			// provider's failing health check removes it from the registry
			// first, and the client closes its pool with it.
			waitFor(t, "the crash to be noticed", func() bool {
				return evicted() || !hasProvider(c, s.px.Addr())
			})
			s.p.Stop(context.Background())
			s.start(t, reg)
			events["crash and restart"]++
		case 2: // freeze until evicted, then thaw
			s.px.Freeze()
			waitFor(t, "the eviction", evicted)
			s.px.Pass()
			events["freeze until evicted"]++
		case 3: // every connection reset
			s.px.ResetAll()
			waitFor(t, "the reset to be noticed", evicted)
			events["connections reset"]++
		}
		// Each iteration ends with every provider serving again: the one
		// touched has answered a call since.
		served := s.svc().calls.Load()
		waitFor(t, "the provider touched to serve again", func() bool { return s.svc().calls.Load() > served })
		waitFor(t, "every provider back in rotation", func() bool { return ready() == len(slots) })
		l.atLeast(t, 200)
	}
	l.finish(t)
	waitFor(t, "one connection per provider and nothing else", func() bool {
		for _, s := range slots {
			if s.px.Stats().Open != 1 {
				return false
			}
		}
		return true
	})
	var after [2]int64
	waitFor(t, "goroutines and heap to settle back", func() bool {
		g, h := settled()
		after = [2]int64{g, h}
		return g <= goroutines+8 && h <= heap+8<<20
	})
	t.Logf("soak %v: %d calls, none failed; churn %v; goroutines %d -> %d; heap in use %.1f -> %.1f MiB",
		duration, l.ok.Load(), events, goroutines, after[0], float64(heap)/(1<<20), float64(after[1])/(1<<20))
}

// settled returns the goroutine count and live heap after a GC.
func settled() (goroutines, heap int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(runtime.NumGoroutine()), int64(ms.HeapAlloc)
}
