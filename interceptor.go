package longlink

import (
	"context"
	"time"
)

// CallInfo describes the call a ClientInterceptor wraps. Provider and
// Attempts are filled in by the time next returns. The metadata the call
// carries is rpc.OutgoingMetadata(ctx); an interceptor adds to it with
// rpc.WithMetadata.
type CallInfo struct {
	Service  string
	Method   string
	Provider string // address of the provider of the last attempt
	Attempts int    // attempts made, failover retries included

	// deadline is ClientOptions.Timeout's bound when it is not carried by
	// the context (no interceptors to see it): rpc times the round trip
	// with it directly, and a context is derived only where a call waits.
	deadline time.Time
}

// bound returns ctx bounded by the call's own deadline, if it has one, for
// the places where the call waits on ctx.
func (info *CallInfo) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if info.deadline.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, info.deadline)
}

// expired reports whether the call's own deadline has passed.
func (info *CallInfo) expired() bool {
	return !info.deadline.IsZero() && !time.Now().Before(info.deadline)
}

// Invoker runs the rest of the chain: the next interceptor, or the call
// itself (routing, failover, the round trips).
type Invoker func(ctx context.Context, req, resp any) error

// ClientInterceptor wraps every call of a Client, retries included, as a
// gRPC unary interceptor does: it may look at or replace ctx and req, call
// next (or not), and look at or replace the outcome.
type ClientInterceptor func(ctx context.Context, info *CallInfo, req, resp any, next Invoker) error

// intercept runs the interceptors around the call.
func (c *Client) intercept(ctx context.Context, info *CallInfo, req, resp any) error {
	h := func(ctx context.Context, req, resp any) error { return c.call(ctx, info, req, resp) }
	ics := c.opts.Interceptors
	for i := len(ics) - 1; i >= 0; i-- {
		ic, next := ics[i], Invoker(h)
		h = func(ctx context.Context, req, resp any) error { return ic(ctx, info, req, resp, next) }
	}
	return h(ctx, req, resp)
}
