package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/longlink/longlink/metrics"
	"github.com/longlink/longlink/rpc"
)

func TestClassify(t *testing.T) {
	remote := func(s rpc.Status) error { return fmt.Errorf("call: %w", &rpc.RemoteError{Status: s, Message: "m"}) }
	conn := func(reason error) error { return &rpc.ConnError{Addr: "a", Reason: reason} }
	for _, tc := range []struct {
		err  error
		want metrics.Outcome
	}{
		{nil, metrics.OK},
		{remote(rpc.StatusApplication), metrics.ApplicationError},
		{remote(rpc.StatusInternal), metrics.ServerError},
		{remote(rpc.StatusUnknownService), metrics.ServerError},
		{remote(rpc.StatusUnknownMethod), metrics.ServerError},
		{remote(rpc.StatusBadRequest), metrics.ServerError},
		{remote(rpc.StatusOverloaded), metrics.LimitExceeded},
		{remote(rpc.StatusDeadline), metrics.Timeout},
		{conn(rpc.ErrConnLost), metrics.TransportError},
		{conn(rpc.ErrHeartbeatTimeout), metrics.TransportError}, // a net.Error whose Timeout is true, still transport
		{conn(rpc.ErrDraining), metrics.TransportError},
		{conn(rpc.ErrClosed), metrics.TransportError},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, metrics.TransportError},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), metrics.Timeout},
		{fmt.Errorf("waiting: %w", context.Canceled), metrics.Canceled},
		{errors.New("blocked by policy"), metrics.Other},
	} {
		if got := metrics.Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestEvictReasonOf(t *testing.T) {
	conn := func(reason error) error { return &rpc.ConnError{Addr: "a", Reason: reason, Err: errors.New("cause")} }
	for _, tc := range []struct {
		s    rpc.ConnState
		err  error
		want metrics.EvictReason
	}{
		{rpc.StateDraining, nil, metrics.Draining},
		{rpc.StateClosed, conn(rpc.ErrDraining), metrics.Draining},
		{rpc.StateClosed, conn(rpc.ErrHeartbeatTimeout), metrics.HeartbeatTimeout},
		{rpc.StateClosed, conn(rpc.ErrConnLost), metrics.ConnLost},
		{rpc.StateClosed, conn(rpc.ErrProtocol), metrics.ProtocolError},
		{rpc.StateClosed, conn(rpc.ErrFrameTooLarge), metrics.ProtocolError},
		{rpc.StateClosed, conn(rpc.ErrClosed), metrics.Closed},
		{rpc.StateClosed, errors.New("?"), metrics.OtherReason},
	} {
		if got := metrics.EvictReasonOf(tc.s, tc.err); got != tc.want {
			t.Errorf("EvictReasonOf(%v, %v) = %v, want %v", tc.s, tc.err, got, tc.want)
		}
	}
}

// Every value has a distinct, non-empty label; out-of-range values read
// "other".
func TestLabels(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range metrics.Outcomes() {
		if s := o.String(); s == "" || seen[s] {
			t.Errorf("outcome %d: label %q", o, s)
		}
		seen[o.String()] = true
	}
	clear(seen)
	for _, r := range metrics.EvictReasons() {
		if s := r.String(); s == "" || seen[s] {
			t.Errorf("reason %d: label %q", r, s)
		}
		seen[r.String()] = true
	}
	if metrics.Outcome(200).String() != "other" || metrics.EvictReason(200).String() != "other" {
		t.Error("out-of-range values must read other")
	}
}

// calls records server calls for the tests.
type calls struct {
	metrics.Nop
	mu       sync.Mutex
	started  int
	outcomes []metrics.Outcome
}

func (c *calls) ServerCallStart(string, string) { c.mu.Lock(); c.started++; c.mu.Unlock() }

func (c *calls) ServerCallEnd(_, _ string, o metrics.Outcome, _ time.Duration) {
	c.mu.Lock()
	c.outcomes = append(c.outcomes, o)
	c.mu.Unlock()
}

// The interceptor maps the handler's outcome, passes results, errors and
// panics through unchanged, and does nothing with a nil recorder.
func TestServerInterceptor(t *testing.T) {
	rec := &calls{}
	ic := metrics.ServerInterceptor(rec)
	info := &rpc.ServerInfo{Service: "S", Method: "M"}
	errApp := errors.New("declined")
	for _, tc := range []struct {
		err  error
		want metrics.Outcome
	}{
		{nil, metrics.OK},
		{errApp, metrics.ApplicationError},
		{fmt.Errorf("late: %w", context.DeadlineExceeded), metrics.Timeout},
		{context.Canceled, metrics.Canceled},
	} {
		res, err := ic(context.Background(), info, 1, func(_ context.Context, arg any) (any, error) { return arg, tc.err })
		if res != 1 || err != tc.err {
			t.Fatalf("interceptor returned (%v, %v), want (1, %v)", res, err, tc.err)
		}
		if got := rec.outcomes[len(rec.outcomes)-1]; got != tc.want {
			t.Errorf("handler error %v recorded as %v, want %v", tc.err, got, tc.want)
		}
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the handler's panic", p)
			}
		}()
		ic(context.Background(), info, 1, func(context.Context, any) (any, error) { panic("boom") })
	}()
	if rec.started != 5 || len(rec.outcomes) != 5 || rec.outcomes[4] != metrics.ServerError {
		t.Fatalf("started %d, outcomes %v", rec.started, rec.outcomes)
	}

	res, err := metrics.ServerInterceptor(nil)(context.Background(), info, 2, func(_ context.Context, arg any) (any, error) { return arg, errApp })
	if res != 2 || err != errApp {
		t.Fatalf("nil recorder: (%v, %v)", res, err)
	}
}
