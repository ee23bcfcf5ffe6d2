package registry_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/longlink/longlink/internal/consultest"
	"github.com/longlink/longlink/registry"
)

// waitLimit bounds every wait for something that should happen "soon": long,
// because the machine is small and shared; tests end as soon as the
// condition holds.
const waitLimit = 30 * time.Second

// nextWithin calls w.Next with a deadline d away and fails t on any error.
func nextWithin(t *testing.T, w registry.Watcher, d time.Duration) []registry.Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	insts, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return insts
}

// waitSnapshot calls w.Next until a snapshot satisfies ok, failing t if none
// does within waitLimit. It returns that snapshot.
func waitSnapshot(t *testing.T, w registry.Watcher, what string, ok func([]registry.Instance) bool) []registry.Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var seen [][]string
	for {
		insts, err := w.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: Next: %v; snapshots seen: %v", what, err, seen)
		}
		if ok(insts) {
			return insts
		}
		seen = append(seen, ids(insts))
	}
}

// expectNoSnapshot asserts that w delivers nothing new for d (the content
// does not change meanwhile).
func expectNoSnapshot(t *testing.T, w registry.Watcher, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	insts, err := w.Next(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %v, %v; want no snapshot (deadline exceeded)", ids(insts), err)
	}
}

func ids(insts []registry.Instance) []string {
	out := make([]string, len(insts))
	for k, inst := range insts {
		out[k] = inst.ID
	}
	return out
}

// hasIDs returns a predicate: the snapshot holds exactly these IDs.
func hasIDs(want ...string) func([]registry.Instance) bool {
	slices.Sort(want)
	return func(insts []registry.Instance) bool {
		got := ids(insts)
		slices.Sort(got)
		return slices.Equal(got, want)
	}
}

// sameInstance compares the fields a registry carries, times as instants.
func sameInstance(a, b registry.Instance) bool {
	return a.Service == b.Service && a.ID == b.ID && a.Host == b.Host && a.Port == b.Port &&
		slices.Equal(a.Tags, b.Tags) && fmt.Sprint(a.Meta) == fmt.Sprint(b.Meta) &&
		a.Weight == b.Weight && a.Version == b.Version && a.Group == b.Group &&
		a.StartedAt.Equal(b.StartedAt)
}

// serviceName returns a service name unique to the test.
func serviceName(t *testing.T) string {
	return strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name()))
}

// switchableHealth is a RegisterOptions.Health whose answer a test sets.
type switchableHealth struct {
	mu  sync.Mutex
	err error
}

func (h *switchableHealth) set(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
}

func (h *switchableHealth) check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// testLogger logs to t.Log, which go test shows only for failing tests (or
// with -v).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// countingTransport counts the HTTP requests a Consul client makes.
type countingTransport struct {
	inner *http.Transport
	n     atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.inner.RoundTrip(r)
}

// fastOptions are Consul options scaled down for tests.
func fastOptions(t *testing.T, agent *consultest.Agent) registry.ConsulOptions {
	return registry.ConsulOptions{
		Config:           &api.Config{Address: agent.Addr()},
		TTL:              2 * time.Second,
		WaitTime:         10 * time.Second,
		MinWatchInterval: 50 * time.Millisecond,
		ErrorBackoff:     100 * time.Millisecond,
		MaxErrorBackoff:  time.Second,
		RequestTimeout:   5 * time.Second,
		Logger:           testLogger(t),
	}
}

// newConsul returns a Consul registry closed when t ends.
func newConsul(t *testing.T, opts registry.ConsulOptions) *registry.Consul {
	t.Helper()
	c, err := registry.NewConsul(opts)
	if err != nil {
		t.Fatalf("NewConsul: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// countingConsul returns a Consul registry whose requests are counted.
func countingConsul(t *testing.T, opts registry.ConsulOptions) (*registry.Consul, *countingTransport) {
	t.Helper()
	ct := &countingTransport{inner: &http.Transport{}}
	t.Cleanup(ct.inner.CloseIdleConnections) // runs after the registry's Close
	cfg := *opts.Config
	cfg.HttpClient = &http.Client{Transport: ct}
	opts.Config = &cfg
	return newConsul(t, opts), ct
}

func mustRegister(t *testing.T, r registry.Registry, inst registry.Instance, opts registry.RegisterOptions) registry.Registration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	reg, err := r.Register(ctx, inst, opts)
	if err != nil {
		t.Fatalf("Register(%s): %v", inst.ID, err)
	}
	return reg
}

func mustDeregister(t *testing.T, reg registry.Registration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := reg.Deregister(ctx); err != nil {
		t.Fatalf("Deregister(%s): %v", reg.Instance().ID, err)
	}
}

func mustWatch(t *testing.T, r registry.Registry, service string) registry.Watcher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	w, err := r.Watch(ctx, service)
	if err != nil {
		t.Fatalf("Watch(%s): %v", service, err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}
