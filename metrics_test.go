package longlink_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/metrics"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/rpc"
)

func TestCallOutcome(t *testing.T) {
	unavailable := &pool.UnavailableError{Addr: "a", Err: errors.New("refused"), Failures: 2}
	for _, tc := range []struct {
		err  error
		want metrics.Outcome
	}{
		{nil, metrics.OK},
		{&longlink.NoProviderError{Service: "S"}, metrics.NoProvider},
		{&longlink.NoProviderError{Service: "S", Known: 2, Last: unavailable}, metrics.NoProvider},
		{fmt.Errorf("%w: %w", pool.ErrLimitExceeded, context.DeadlineExceeded), metrics.LimitExceeded},
		{&rpc.RemoteError{Status: rpc.StatusOverloaded}, metrics.LimitExceeded},
		{unavailable, metrics.TransportError},
		{fmt.Errorf("%w: pool for a", pool.ErrClosed), metrics.TransportError},
		{fmt.Errorf("%w: client", longlink.ErrClosed), metrics.Canceled},
		{&rpc.RemoteError{Status: rpc.StatusApplication}, metrics.ApplicationError},
		{&rpc.ConnError{Addr: "a", Reason: rpc.ErrConnLost}, metrics.TransportError},
		{fmt.Errorf("waiting for the registry: %w", context.DeadlineExceeded), metrics.Timeout},
		{errors.New("blocked by policy"), metrics.Other},
	} {
		if got := longlink.CallOutcome(tc.err); got != tc.want {
			t.Errorf("CallOutcome(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// callRecorder keeps the client events it receives.
type callRecorder struct {
	metrics.Nop
	mu       sync.Mutex
	inflight int
	ends     []string // "method outcome"
	updates  []int
}

func (r *callRecorder) ClientCallStart(service, method string) {
	r.mu.Lock()
	r.inflight++
	r.mu.Unlock()
}

func (r *callRecorder) ClientCallEnd(service, method string, o metrics.Outcome, d time.Duration) {
	r.mu.Lock()
	r.inflight--
	r.ends = append(r.ends, method+" "+o.String())
	r.mu.Unlock()
}

func (r *callRecorder) RegistryUpdate(service string, n int) {
	r.mu.Lock()
	r.updates = append(r.updates, n)
	r.mu.Unlock()
}

func (r *callRecorder) snapshot() (int, []string, []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inflight, append([]string(nil), r.ends...), append([]int(nil), r.updates...)
}

// The metrics wrap the interceptors: they see the error the caller gets,
// once per call however many attempts failover made.
func TestClientMetricsOutermost(t *testing.T) {
	cl := startCluster(t, 2)
	rec := &callRecorder{}
	forgive := func(ctx context.Context, info *longlink.CallInfo, req, resp any, next longlink.Invoker) error {
		err := next(ctx, req, resp)
		if info.Method == "Fail" {
			return nil // an interceptor that hides Fail's errors
		}
		return err
	}
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Metrics: rec, Interceptors: []longlink.ClientInterceptor{forgive}})
	if _, err := call(t, c, "Fail", 1); err != nil {
		t.Fatal(err)
	}
	// A call stuck on a provider that is then killed fails over: still one
	// call.
	var attempts atomic.Int64
	count := func(ctx context.Context, info *longlink.CallInfo, req, resp any, next longlink.Invoker) error {
		err := next(ctx, req, resp)
		attempts.Store(int64(info.Attempts))
		return err
	}
	victim := cl.providers[0]
	gate := make(chan struct{})
	victim.svc.gate.Store(&gate)
	plain := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Metrics: rec, Interceptors: []longlink.ClientInterceptor{count}})
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := call(t, plain, "Echo", 1); err != nil || attempts.Load() > 1 {
				done <- err
				return
			}
		}
	}()
	waitFor(t, "a call stuck on the victim", func() bool { return victim.svc.running.Load() > 0 })
	victim.kill()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	inflight, ends, updates := rec.snapshot()
	if inflight != 0 {
		t.Errorf("%d calls in flight after all returned", inflight)
	}
	if ends[0] != "Fail ok" {
		t.Errorf("first call recorded as %q, want the outcome the interceptor left: Fail ok", ends[0])
	}
	for _, e := range ends[1:] {
		if e != "Echo ok" {
			t.Errorf("recorded %q; every Echo call succeeded, retried or not", e)
		}
	}
	if len(updates) != 2 || updates[0] != 2 || updates[1] != 2 {
		t.Errorf("registry updates %v, want one snapshot of 2 providers per client", updates)
	}
}
