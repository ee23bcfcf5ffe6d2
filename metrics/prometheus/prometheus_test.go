package prometheus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/metrics"
	longlinkprom "github.com/longlink/longlink/metrics/prometheus"
	"github.com/longlink/longlink/pool"
)

// A known sequence of calls, one of each outcome, read back from the
// registry on both sides.
func TestCallOutcomes(t *testing.T) {
	e := newEnv(t)
	p := e.startProvider(t)
	c := e.client(t, "Echo", longlink.ClientOptions{})
	bg := context.Background()

	const okCalls, failCalls = 20, 5
	for range okCalls {
		if err := call(bg, c, "Echo"); err != nil {
			t.Fatal(err)
		}
	}
	for range failCalls {
		if err := call(bg, c, "Fail"); err == nil {
			t.Fatal("Fail succeeded")
		}
	}
	if err := call(bg, c, "Nope"); err == nil {
		t.Fatal("unknown method succeeded")
	}
	if err := call(bg, c, "Panic"); err == nil {
		t.Fatal("panicking method succeeded")
	}
	short, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	if err := call(short, c, "Hang"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hang: %v", err)
	}
	cancel()
	canceled, cancel := context.WithCancel(bg)
	cancel()
	if err := call(canceled, c, "Echo"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled call: %v", err)
	}

	// A client limited to one Hold at a time: the second waits out its
	// deadline.
	limited := e.client(t, "Echo", longlink.ClientOptions{Actives: 1})
	held := make(chan error, 1)
	go func() { held <- call(bg, limited, "Hold") }()
	waitFor(t, "the first Hold in flight", func() bool {
		return value(t, e.prom, "longlink_server_calls_in_flight", "service", "Echo", "method", "Hold") == 1
	})
	expect(t, e.prom, 1, "longlink_client_calls_in_flight", "service", "Echo", "method", "Hold")
	short, cancel = context.WithTimeout(bg, 50*time.Millisecond)
	if err := call(short, limited, "Hold"); !errors.Is(err, pool.ErrLimitExceeded) {
		t.Fatalf("over the limit: %v", err)
	}
	cancel()
	close(p.svc.gate)
	if err := <-held; err != nil {
		t.Fatal(err)
	}

	nobody := e.client(t, "Nobody", longlink.ClientOptions{Timeout: time.Second})
	if err := call(bg, nobody, "Echo"); !errors.Is(err, longlink.ErrNoProvider) {
		t.Fatalf("no provider: %v", err)
	}

	client := func(want float64, service, method, outcome string) {
		t.Helper()
		expect(t, e.prom, want, "longlink_client_calls_total", "service", service, "method", method, "outcome", outcome)
		expect(t, e.prom, want, "longlink_client_call_duration_seconds", "service", service, "method", method, "outcome", outcome)
	}
	client(okCalls, "Echo", "Echo", "ok")
	client(failCalls, "Echo", "Fail", "application_error")
	client(1, "Echo", "Nope", "server_error")
	client(1, "Echo", "Panic", "server_error")
	client(1, "Echo", "Hang", "timeout")
	client(1, "Echo", "Echo", "canceled")
	client(1, "Echo", "Hold", "limit_exceeded")
	client(1, "Echo", "Hold", "ok")
	client(1, "Nobody", "Echo", "no_provider")
	client(0, "Echo", "Echo", "transport_error")
	for _, m := range []string{"Echo", "Fail", "Hang", "Hold"} {
		expect(t, e.prom, 0, "longlink_client_calls_in_flight", "service", "Echo", "method", m)
	}

	// The handler of Hang ends with the caller's deadline, which the server
	// sees on its own clock.
	await(t, e.prom, 1, "longlink_server_calls_total", "service", "Echo", "method", "Hang", "outcome", "timeout")
	server := func(want float64, method, outcome string) {
		t.Helper()
		expect(t, e.prom, want, "longlink_server_calls_total", "service", "Echo", "method", method, "outcome", outcome)
		expect(t, e.prom, want, "longlink_server_call_duration_seconds", "service", "Echo", "method", method, "outcome", outcome)
	}
	server(okCalls, "Echo", "ok")
	server(failCalls, "Fail", "application_error")
	server(1, "Panic", "server_error")
	server(1, "Hold", "ok")
	server(0, "Hold", "limit_exceeded") // refused by the client: never sent
	server(0, "Nope", "server_error")   // refused by the server before any handler
	server(0, "Echo", "canceled")       // never sent
	for _, m := range []string{"Echo", "Fail", "Hang", "Hold", "Panic"} {
		expect(t, e.prom, 0, "longlink_server_calls_in_flight", "service", "Echo", "method", m)
	}

	// Two clients of Echo applied one snapshot each; Nobody's was empty.
	expect(t, e.prom, 2, "longlink_registry_updates_total", "service", "Echo")
	expect(t, e.prom, 1, "longlink_registry_instances", "service", "Echo")
	expect(t, e.prom, 1, "longlink_registry_updates_total", "service", "Nobody")
	expect(t, e.prom, 0, "longlink_registry_instances", "service", "Nobody")
}

// A provider that freezes: its connection misses heartbeats and is evicted
// for a heartbeat timeout, dials to it fail while it is frozen, and after
// the thaw it is redialled once. The gauges follow.
func TestFrozenProviderMetrics(t *testing.T) {
	e := newEnv(t)
	p := e.startProvider(t)
	c := e.client(t, "Echo", longlink.ClientOptions{})
	if err := call(context.Background(), c, "Echo"); err != nil {
		t.Fatal(err)
	}
	expect(t, e.prom, 1, "longlink_connections", "state", "ready")
	expect(t, e.prom, 0, "longlink_connections", "state", "draining")
	expect(t, e.prom, 1, "longlink_pools", "state", "ready")
	expect(t, e.prom, 0, "longlink_pools", "state", "backing_off")
	// Idle but healthy: pings are answered, nothing is missed.
	waitFor(t, "a few heartbeat pings", func() bool {
		st := c.Stats().Providers[0].Pool.Connections
		return len(st) == 1 && st[0].Pings >= 3
	})
	expect(t, e.prom, 0, "longlink_heartbeats_missed_total")

	p.px.Freeze()
	await(t, e.prom, 1, "longlink_connection_evictions_total", "reason", "heartbeat_timeout")
	// MaxMissedHeartbeats 3: the pings of intervals 1 and 2 go unanswered.
	if n := value(t, e.prom, "longlink_heartbeats_missed_total"); n < 2 {
		t.Errorf("heartbeats missed %v, want at least 2", n)
	}
	await(t, e.prom, 1, "longlink_dial_failures_total")
	expect(t, e.prom, 0, "longlink_connections", "state", "ready")
	expect(t, e.prom, 0, "longlink_pools", "state", "ready")
	expect(t, e.prom, 0, "longlink_redials_total")

	p.px.Pass()
	await(t, e.prom, 1, "longlink_redials_total")
	if err := call(context.Background(), c, "Echo"); err != nil {
		t.Fatal(err)
	}
	expect(t, e.prom, 1, "longlink_redials_total")
	expect(t, e.prom, 1, "longlink_connections", "state", "ready")
	expect(t, e.prom, 1, "longlink_pools", "state", "ready")
	for _, r := range metrics.EvictReasons() {
		want := 0.0
		if r == metrics.HeartbeatTimeout {
			want = 1
		}
		expect(t, e.prom, want, "longlink_connection_evictions_total", "reason", r.String())
	}
}

// A crashed provider is evicted as conn_lost, one shutting down gracefully
// as draining; registry changes are counted as the client applies them.
func TestEvictionReasonsAndRegistryUpdates(t *testing.T) {
	e := newEnv(t)
	a := e.startProvider(t)
	e.client(t, "Echo", longlink.ClientOptions{})
	waitFor(t, "a ready connection", func() bool { return value(t, e.prom, "longlink_connections", "state", "ready") == 1 })
	expect(t, e.prom, 1, "longlink_registry_updates_total", "service", "Echo")
	b := e.startProvider(t)
	await(t, e.prom, 2, "longlink_registry_updates_total", "service", "Echo")
	expect(t, e.prom, 2, "longlink_registry_instances", "service", "Echo")
	waitFor(t, "two ready connections", func() bool { return value(t, e.prom, "longlink_connections", "state", "ready") == 2 })

	a.kill()
	await(t, e.prom, 1, "longlink_connection_evictions_total", "reason", "conn_lost")
	a.reg.Deregister(context.Background())
	await(t, e.prom, 3, "longlink_registry_updates_total", "service", "Echo")
	expect(t, e.prom, 1, "longlink_registry_instances", "service", "Echo")

	if err := b.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	await(t, e.prom, 1, "longlink_connection_evictions_total", "reason", "draining")
	expect(t, e.prom, 0, "longlink_connection_evictions_total", "reason", "heartbeat_timeout")
	expect(t, e.prom, 1, "longlink_connection_evictions_total", "reason", "conn_lost")
}

// Two recorders on one registry share its collectors; a clash with a
// foreign collector of the same name is an error.
func TestNewRecorderTwiceAndClash(t *testing.T) {
	reg := prom.NewRegistry()
	r1, err := longlinkprom.NewRecorder(reg, longlinkprom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := longlinkprom.NewRecorder(reg, longlinkprom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r1.Redialed("a")
	r2.Redialed("b")
	expect(t, reg, 2, "longlink_redials_total")

	other := prom.NewRegistry()
	other.MustRegister(prom.NewGauge(prom.GaugeOpts{Name: "longlink_redials_total", Help: "not ours"}))
	if _, err := longlinkprom.NewRecorder(other, longlinkprom.Options{}); err == nil {
		t.Fatal("NewRecorder over a foreign collector of the same name succeeded")
	}
}

// The exported metrics follow Prometheus' naming conventions.
func TestLint(t *testing.T) {
	reg := prom.NewRegistry()
	rec, err := longlinkprom.NewRecorder(reg, longlinkprom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := pool.NewManager(pool.Options{Logger: quiet})
	defer m.Close()
	reg.MustRegister(longlinkprom.NewPoolCollector(m))
	rec.ClientCallStart("S", "M")
	rec.ClientCallEnd("S", "M", metrics.OK, time.Millisecond)
	rec.ServerCallStart("S", "M")
	rec.ServerCallEnd("S", "M", metrics.OK, time.Millisecond)
	rec.HeartbeatMissed("a")
	rec.DialFailed("a")
	rec.RegistryUpdate("S", 1)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	t.Logf("%d series in %d families: %s", n, len(mfs), strings.Join(names, " "))
}
