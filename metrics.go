package longlink

import (
	"context"
	"errors"
	"time"

	"github.com/longlink/longlink/metrics"
	"github.com/longlink/longlink/pool"
)

// CallOutcome maps the error of a Client.Call to the metrics.Outcome that
// ClientOptions.Metrics records for it: NoProvider for a *NoProviderError,
// LimitExceeded for pool.ErrLimitExceeded, TransportError for
// pool.ErrUnavailable and pool.ErrClosed, Canceled for ErrClosed, and
// metrics.Classify's answer for the rest (the errors of package rpc and of
// the context). The metrics package documentation gives the whole table.
func CallOutcome(err error) metrics.Outcome {
	switch {
	case err == nil:
		return metrics.OK
	case errors.Is(err, ErrNoProvider):
		return metrics.NoProvider
	case errors.Is(err, pool.ErrLimitExceeded):
		return metrics.LimitExceeded // before the context's error, which it also matches
	case errors.Is(err, ErrClosed):
		return metrics.Canceled
	case errors.Is(err, pool.ErrUnavailable), errors.Is(err, pool.ErrClosed):
		return metrics.TransportError
	}
	return metrics.Classify(err)
}

// observe runs a call between rec's ClientCallStart and ClientCallEnd,
// outside everything else the call goes through. A panic (from an
// interceptor, say) is recorded as metrics.Other and passed on.
func (c *Client) observe(ctx context.Context, rec metrics.Recorder, method string, req, resp any) (err error) {
	rec.ClientCallStart(c.service, method)
	start := time.Now()
	returned := false
	defer func() {
		o := metrics.Other
		if returned {
			o = CallOutcome(err)
		}
		rec.ClientCallEnd(c.service, method, o, time.Since(start))
	}()
	err = c.call0(ctx, method, req, resp)
	returned = true
	return err
}
