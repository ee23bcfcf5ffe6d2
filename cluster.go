package longlink

import (
	"context"
	"errors"

	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/rpc"
)

// invoke runs one call under the cluster policy: Failover retries transport
// failures on other providers, Failfast does not.
func (c *Client) invoke(ctx context.Context, set *endpointSet, info *CallInfo, req, resp any) error {
	var triedBuf [4]*endpoint
	tried := triedBuf[:0]
	var last error
	for attempt := 0; attempt <= c.opts.Retries; attempt++ {
		if attempt > 0 && (ctx.Err() != nil || info.expired()) {
			break // never past the deadline: the last error stands
		}
		ep := c.pick(ctx, set, tried)
		if ep == nil {
			if last != nil {
				return last
			}
			return c.noProvider(set, nil)
		}
		info.Provider, info.Attempts = ep.addr, info.Attempts+1
		err := c.callOne(ctx, ep, info, req, resp)
		if err == nil {
			c.stick(ep)
			return nil
		}
		last = err
		if !retryable(err) {
			return err
		}
		c.unstick(ep)
		tried = append(tried, ep)
		if attempt < c.opts.Retries {
			c.log.Debug("longlink: retrying on another provider", "method", info.Method, "failed", ep.addr, "err", err)
		}
	}
	return last
}

// callOne makes one attempt on one provider. Where it would wait (for an
// actives slot, for a dial) it waits within the call's deadline; the round
// trip itself is timed by rpc.
func (c *Client) callOne(ctx context.Context, ep *endpoint, info *CallInfo, req, resp any) error {
	method := info.Method
	slot, ok := ep.actives.TryAcquire(method)
	if !ok {
		wctx, cancel := info.bound(ctx)
		var err error
		slot, err = ep.actives.Acquire(wctx, method)
		cancel()
		if err != nil {
			ep.failures.Add(1)
			return err
		}
	}
	defer slot.Release()
	ep.inflight.Add(1)
	defer ep.inflight.Add(-1)
	conn, ok := ep.pool.TryConn()
	if !ok {
		wctx, cancel := info.bound(ctx)
		var err error
		conn, err = ep.pool.Conn(wctx)
		cancel()
		if err != nil {
			ep.failures.Add(1)
			return err
		}
	}
	ep.calls.Add(1)
	err := conn.CallUntil(ctx, info.deadline, c.service, method, req, resp)
	if err != nil && !isRemote(err) {
		ep.failures.Add(1)
	}
	return err
}

// retryable reports whether a failed attempt may be repeated on another
// provider: transport failures, a provider that cannot take calls now, and
// overload. Not: answers from the provider, ended contexts, limits.
func retryable(err error) bool {
	return rpc.Retryable(err) || errors.Is(err, pool.ErrUnavailable) || errors.Is(err, pool.ErrClosed)
}

func isRemote(err error) bool {
	var re *rpc.RemoteError
	return errors.As(err, &re)
}

func (c *Client) noProvider(set *endpointSet, last error) error {
	return &NoProviderError{Service: c.service, Version: c.opts.Version, Group: c.opts.Group, Known: len(set.eps), Last: last}
}
