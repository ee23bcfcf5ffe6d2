package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/longlink/longlink/rpc"
)

// ServerInterceptor returns an rpc.ServerInterceptor that records every
// request a handler runs: ServerCallStart, then ServerCallEnd with the
// outcome (see the package documentation) and the handler's latency. Put it
// first in rpc.ServerOptions.Interceptors so that it sees the outcome the
// other interceptors leave. A panic is recorded as ServerError and passed
// on, for the server to answer as it does without the interceptor. A nil
// rec gives an interceptor that only calls next.
func ServerInterceptor(rec Recorder) rpc.ServerInterceptor {
	if rec == nil {
		return func(ctx context.Context, _ *rpc.ServerInfo, arg any, next rpc.Handler) (any, error) {
			return next(ctx, arg)
		}
	}
	return func(ctx context.Context, info *rpc.ServerInfo, arg any, next rpc.Handler) (result any, err error) {
		rec.ServerCallStart(info.Service, info.Method)
		start := time.Now()
		returned := false
		defer func() {
			o := ServerError // still set if next panicked
			if returned {
				o = serverOutcome(err)
			}
			rec.ServerCallEnd(info.Service, info.Method, o, time.Since(start))
		}()
		result, err = next(ctx, arg)
		returned = true
		return result, err
	}
}

// serverOutcome maps a handler's error as rpc maps it to a status, telling
// cancellation apart.
func serverOutcome(err error) Outcome {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.Is(err, context.Canceled):
		return Canceled
	}
	return ApplicationError
}
