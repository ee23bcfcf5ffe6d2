package pool_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/longlink/longlink/metrics"
	"github.com/longlink/longlink/rpc"
)

// events records what a pool reports to its metrics.Recorder.
type events struct {
	metrics.Nop
	mu        sync.Mutex
	missed    int
	evictions []metrics.EvictReason
	redials   int
	failures  int
}

func (e *events) HeartbeatMissed(string) { e.mu.Lock(); e.missed++; e.mu.Unlock() }
func (e *events) Redialed(string)        { e.mu.Lock(); e.redials++; e.mu.Unlock() }
func (e *events) DialFailed(string)      { e.mu.Lock(); e.failures++; e.mu.Unlock() }
func (e *events) ConnEvicted(_ string, r metrics.EvictReason) {
	e.mu.Lock()
	e.evictions = append(e.evictions, r)
	e.mu.Unlock()
}

func (e *events) get() (missed int, evictions []metrics.EvictReason, redials, failures int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.missed, slices.Clone(e.evictions), e.redials, e.failures
}

// A frozen provider, through the pool's recorder: unanswered pings, one
// eviction for a heartbeat timeout, failed dials while frozen, one redial
// after the thaw. The user's own heartbeat hook still sees every silent
// interval, idle ones included.
func TestPoolMetricsFrozenProvider(t *testing.T) {
	prov := startProvider(t, "")
	px := proxied(t, prov.addr)
	rec := &events{}
	var userMu sync.Mutex
	userSaw := map[int]int{} // missed -> times
	opts := fastOptions()
	opts.Metrics = rec
	opts.Conn.OnHeartbeatMissed = func(_ *rpc.Conn, missed int) {
		userMu.Lock()
		userSaw[missed]++
		userMu.Unlock()
	}
	m := newManager(t, opts)
	p, release := m.Acquire(px.Addr(), 0)
	defer release()
	if err := call(context.Background(), p, 1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "idle heartbeat pings", func() bool {
		cs := p.Stats().Connections
		return len(cs) == 1 && cs[0].Pings >= 3
	})
	if missed, ev, _, _ := rec.get(); missed != 0 || len(ev) != 0 {
		t.Fatalf("idle healthy connection: %d heartbeats missed, evictions %v", missed, ev)
	}
	userMu.Lock()
	idle := userSaw[1]
	userMu.Unlock()
	if idle == 0 {
		t.Fatal("the user's OnHeartbeatMissed never saw an idle interval")
	}

	px.Freeze()
	waitFor(t, "the eviction", func() bool { _, ev, _, _ := rec.get(); return len(ev) > 0 })
	waitFor(t, "a failed dial", func() bool { _, _, _, f := rec.get(); return f > 0 })
	px.Pass()
	waitFor(t, "the redial", func() bool { _, _, r, _ := rec.get(); return r > 0 })
	if err := call(context.Background(), p, 2); err != nil {
		t.Fatal(err)
	}
	missed, ev, redials, failures := rec.get()
	if missed < 2 || !slices.Equal(ev, []metrics.EvictReason{metrics.HeartbeatTimeout}) || redials != 1 {
		t.Fatalf("missed %d, evictions %v, redials %d; want >= 2, [heartbeat_timeout], 1", missed, ev, redials)
	}
	st := p.Stats()
	if st.Redials != 1 || st.Evictions != 1 || st.DialFailures != uint64(failures) {
		t.Fatalf("stats %+v; recorder saw %d dial failures", st, failures)
	}
	userMu.Lock()
	defer userMu.Unlock()
	if userSaw[2] == 0 || userSaw[3] == 0 {
		t.Fatalf("the user's hook saw %v; want the intervals up to the timeout", userSaw)
	}
}

// Filling a dedicated pool is not redialling: no record, no count.
func TestFillingIsNotRedialling(t *testing.T) {
	prov := startProvider(t, "")
	rec := &events{}
	opts := fastOptions()
	opts.Metrics = rec
	m := newManager(t, opts)
	p, release := m.Acquire(prov.addr, 3)
	defer release()
	p.Connect()
	waitFor(t, "3 connections", func() bool { return len(p.Stats().Connections) == 3 })
	if _, _, r, _ := rec.get(); r != 0 || p.Stats().Redials != 0 {
		t.Fatalf("recorded %d redials, Stats %d; want none", r, p.Stats().Redials)
	}
}
