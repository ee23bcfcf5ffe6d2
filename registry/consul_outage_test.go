package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/longlink/longlink/internal/consultest"
	"github.com/longlink/longlink/registry"
)

// maxOutageRequests bounds the requests one watch may make in d while every
// request fails at once: after its k-th consecutive failure it pauses at least
// half of min(ErrorBackoff*2^(k-1), MaxErrorBackoff). Two more are allowed:
// the request under way when the outage began and the one that ends it.
func maxOutageRequests(o registry.ConsulOptions, d time.Duration) int64 {
	n, paused := int64(1), time.Duration(0)
	for k := 1; ; k++ {
		paused += min(o.ErrorBackoff<<(k-1), o.MaxErrorBackoff) / 2
		if paused > d {
			return n + 2
		}
		n++
	}
}

// eventually polls cond until it holds, failing t after waitLimit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", waitLimit, what)
		}
		<-tick.C
	}
}

// Consul stops and restarts while a watcher runs: the watcher keeps its last
// snapshot, retries a bounded number of times, and resumes; the provider's
// registration registers itself again with the restarted (empty) agent.
func TestConsulOutageKeepsLastSnapshotAndResumes(t *testing.T) {
	agent := consultest.Start(t)
	opts := fastOptions(t, agent)
	provider := newConsul(t, opts)
	consumer, requests := countingConsul(t, opts)
	svc := serviceName(t)
	w := mustWatch(t, consumer, svc)
	reg := mustRegister(t, provider, registry.Instance{Service: svc, ID: "i1", Host: "127.0.0.1", Port: 7200}, registry.RegisterOptions{})
	defer mustDeregister(t, reg)
	waitSnapshot(t, w, "i1", hasIDs("i1"))

	agent.Stop()
	before, start := requests.n.Load(), time.Now()
	// While Consul is down the watcher delivers nothing: [i1] stays the truth.
	expectNoSnapshot(t, w, 3*time.Second)
	down, made := time.Since(start), requests.n.Load()-before
	if limit := maxOutageRequests(opts, down); made > limit {
		t.Fatalf("%d requests in %v of outage, want at most %d (capped backoff)", made, down, limit)
	}
	if made < 2 {
		t.Fatalf("%d requests in %v of outage: the watch stopped retrying", made, down)
	}
	t.Logf("%d requests during %v of outage", made, down)

	agent.Restart(t)
	// The restarted dev agent knows nothing until the registration's next
	// TTL refresh gets "unknown check" and registers again. The watcher may
	// or may not see the empty set in between (if it asks after i1 is back,
	// nothing changed for it); a new instance proves that it resumed.
	reg2 := mustRegister(t, provider, registry.Instance{Service: svc, ID: "i2", Host: "127.0.0.1", Port: 7201}, registry.RegisterOptions{})
	defer mustDeregister(t, reg2)
	waitSnapshot(t, w, "i1 (registered again) and i2 after the restart", hasIDs("i1", "i2"))

	// Back to blocking queries: a quiet service costs next to no requests.
	before = requests.n.Load()
	expectNoSnapshot(t, w, 2*time.Second)
	if made := requests.n.Load() - before; made > 5 {
		t.Fatalf("%d requests in 2 s after recovery, want blocking queries (at most 5)", made)
	}
}

func TestConsulRegistrationReregistersAfterAgentRestart(t *testing.T) {
	agent := consultest.Start(t)
	c := newConsul(t, fastOptions(t, agent))
	var h switchableHealth
	reg := mustRegister(t, c, registry.Instance{Service: serviceName(t), ID: "i1", Host: "127.0.0.1", Port: 7200},
		registry.RegisterOptions{Health: h.check})
	agent.Restart(t)
	h.set(context.DeadlineExceeded) // re-registered with the current health
	eventually(t, "i1 registered again, its TTL check critical", func() bool {
		check := agentCheckOrNil(c, "service:i1:ttl")
		return check != nil && check.Status == "critical" && check.Output == context.DeadlineExceeded.Error()
	})
	mustDeregister(t, reg)
	if check := agentCheckOrNil(c, "service:i1:ttl"); check != nil {
		t.Fatalf("check still present after Deregister: %+v", check)
	}
}

func agentCheckOrNil(c *registry.Consul, id string) *struct{ Status, Output string } {
	checks, err := c.Client().Agent().Checks()
	if err != nil || checks[id] == nil {
		return nil
	}
	return &struct{ Status, Output string }{checks[id].Status, checks[id].Output}
}

// A watch started while the agent is down waits for it, then delivers.
func TestConsulWatchStartedDuringOutage(t *testing.T) {
	agent := consultest.Start(t)
	opts := fastOptions(t, agent)
	provider := newConsul(t, opts)
	agent.Stop()

	opts.SkipStartupCheck = true
	consumer := newConsul(t, opts)
	svc := serviceName(t)
	w := mustWatch(t, consumer, svc)
	expectNoSnapshot(t, w, 500*time.Millisecond) // no answer yet: nothing to deliver

	agent.Restart(t)
	reg := mustRegister(t, provider, registry.Instance{Service: svc, ID: "i1", Host: "127.0.0.1", Port: 7200}, registry.RegisterOptions{})
	defer mustDeregister(t, reg)
	waitSnapshot(t, w, "i1", hasIDs("i1"))
}
