package rpc

import "context"

// ServerInfo describes the request a ServerInterceptor wraps. The caller's
// metadata is IncomingMetadata(ctx); its deadline is ctx's.
type ServerInfo struct {
	Service string
	Method  string
	Peer    string // the client's address
}

// Handler runs the rest of the chain: the next interceptor, or the method.
type Handler func(ctx context.Context, arg any) (result any, err error)

// ServerInterceptor wraps every request a Server runs: it may look at or
// replace ctx and arg, call next (or not), and look at or replace the
// outcome. arg is the value the method receives (a pointer, for the usual
// method shape); a replacement must be of the same type. A panic in an
// interceptor is handled like one in the method.
type ServerInterceptor func(ctx context.Context, info *ServerInfo, arg any, next Handler) (result any, err error)

// chain builds the handler for one request: interceptors[0] outermost.
func chain(interceptors []ServerInterceptor, info *ServerInfo, final Handler) Handler {
	h := final
	for i := len(interceptors) - 1; i >= 0; i-- {
		ic, next := interceptors[i], h
		h = func(ctx context.Context, arg any) (any, error) { return ic(ctx, info, arg, next) }
	}
	return h
}
