package longlink_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/registry"
)

// weightedCluster serves "W" from three providers registered with weights
// 100, 200 and 300.
func weightedCluster(t *testing.T) *cluster {
	cl := startCluster(t, 3, "W")
	for i, p := range cl.providers {
		p.reg.Deregister(context.Background())
		cl.register(t, p, "W", registry.Instance{Weight: 100 * (i + 1)})
	}
	return cl
}

// readyClient returns a client once every provider is connected, so that
// distributions are measured over all of them.
func readyClient(t *testing.T, cl *cluster, service string, opts longlink.ClientOptions) *longlink.Client {
	c := newClient(t, cl.reg, service, opts)
	waitReady(t, c, len(cl.providers))
	waitFor(t, "every provider's weight", func() bool {
		for _, p := range c.Stats().Providers {
			if p.Instance.Weight == 0 {
				return false
			}
		}
		return true
	})
	return c
}

func servedBy(t *testing.T, c *longlink.Client, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		var m Msg
		if err := c.Call(context.Background(), "Echo", &Msg{ID: i}, &m); err != nil {
			t.Fatal(err)
		}
		got[m.From]++
	}
	return got
}

func TestWeightedRandomFollowsWeights(t *testing.T) {
	cl := weightedCluster(t)
	c := readyClient(t, cl, "W", longlink.ClientOptions{})
	const n = 6000
	got := servedBy(t, c, n)
	for i, p := range cl.providers {
		share := float64(i+1) / 6
		want := n * share
		sd := math.Sqrt(n * share * (1 - share))
		if d := math.Abs(float64(got[p.name]) - want); d > 6*sd {
			t.Fatalf("weight %d: %d of %d calls, want %.0f +- %.0f (6 sd); all: %v", 100*(i+1), got[p.name], n, want, 6*sd, got)
		}
	}
}

func TestRoundRobin(t *testing.T) {
	t.Run("equal weights rotate exactly", func(t *testing.T) {
		cl := startCluster(t, 3)
		c := readyClient(t, cl, "Echo", longlink.ClientOptions{Balancer: longlink.RoundRobin})
		for name, n := range servedBy(t, c, 300) {
			if n != 100 {
				t.Fatalf("%s served %d of 300", name, n)
			}
		}
	})
	t.Run("weighted, smoothly", func(t *testing.T) {
		cl := weightedCluster(t)
		c := readyClient(t, cl, "W", longlink.ClientOptions{Balancer: longlink.RoundRobin})
		got := servedBy(t, c, 600)
		for i, p := range cl.providers {
			if want := 100 * (i + 1); got[p.name] != want {
				t.Fatalf("weight %d: served %d of 600, want %d (%v)", want, got[p.name], want, got)
			}
		}
	})
}

// LeastActive avoids the provider that has one of this client's calls
// hanging, while the others have none.
func TestLeastActive(t *testing.T) {
	cl := startCluster(t, 3)
	c := readyClient(t, cl, "Echo", longlink.ClientOptions{Balancer: longlink.LeastActive})
	busy := cl.providers[0]
	gate := make(chan struct{})
	defer close(gate)
	busy.svc.gate.Store(&gate)
	// Calls go one at a time until one lands on the busy provider and hangs.
	hung := make(chan error, 1)
	for i := 0; busy.svc.running.Load() == 0; i++ {
		if i == 200 {
			t.Fatal("200 calls never reached the busy provider")
		}
		go func() { _, err := call(t, c, "Echo", i); hung <- err }()
		waitFor(t, "the call to finish or hang", func() bool { return len(hung) > 0 || busy.svc.running.Load() > 0 })
		if len(hung) > 0 {
			if err := <-hung; err != nil {
				t.Fatal(err)
			}
		}
	}
	busy.svc.gate.Store(nil)
	before := busy.svc.calls.Load()
	servedBy(t, c, 100)
	if n := busy.svc.calls.Load() - before; n != 0 {
		t.Fatalf("the provider with a call in flight got %d of 100 new calls", n)
	}
}

// ConsistentHash: a key keeps its provider; keys spread; when a provider
// leaves, only its keys move.
func TestConsistentHash(t *testing.T) {
	cl := startCluster(t, 3)
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Balancer: longlink.ConsistentHash})
	waitReady(t, c, 3) // a provider still dialling is skipped, and its keys would move when it is ready
	owners := func() map[string]string {
		got := map[string]string{}
		for k := range 60 {
			key := fmt.Sprintf("user-%d", k)
			ctx := longlink.WithHashKey(context.Background(), key)
			for range 5 {
				var out Msg
				if err := c.Call(ctx, "Echo", &Msg{}, &out); err != nil {
					t.Fatal(err)
				}
				if prev, ok := got[key]; ok && prev != out.From {
					t.Fatalf("key %s went to %s and to %s", key, prev, out.From)
				}
				got[key] = out.From
			}
		}
		return got
	}
	before := owners()
	used := map[string]bool{}
	for _, p := range before {
		used[p] = true
	}
	if len(used) != 3 {
		t.Fatalf("60 keys used %d of 3 providers", len(used))
	}
	leaving := cl.providers[1]
	leaving.reg.Deregister(context.Background())
	waitFor(t, "the departure", func() bool { return len(c.Stats().Providers) == 2 })
	for key, p := range owners() {
		if before[key] != leaving.name && before[key] != p {
			t.Fatalf("key %s moved from %s to %s though %s stayed", key, before[key], p, before[key])
		}
	}
}
