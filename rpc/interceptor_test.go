package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/longlink/longlink/rpc"
)

// recorder is an interceptor that logs its name around the call.
type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
}

func (r *recorder) interceptor(name string) rpc.ServerInterceptor {
	return func(ctx context.Context, info *rpc.ServerInfo, arg any, next rpc.Handler) (any, error) {
		r.add(fmt.Sprintf("%s>%s.%s k=%s", name, info.Service, info.Method, rpc.IncomingMetadata(ctx)["k"]))
		res, err := next(ctx, arg)
		r.add(fmt.Sprintf("%s<%v", name, err))
		return res, err
	}
}

func TestServerInterceptors(t *testing.T) {
	rec := &recorder{}
	deny := func(ctx context.Context, info *rpc.ServerInfo, arg any, next rpc.Handler) (any, error) {
		if info.Method == "Div" && arg.(*Args).B == 0 {
			return nil, errors.New("denied by interceptor")
		}
		if info.Method == "Echo" {
			return next(ctx, strings.ToUpper(arg.(string)))
		}
		if info.Method == "Sub" {
			panic("interceptor panic")
		}
		return next(ctx, arg)
	}
	_, addr := startServer(t, rpc.ServerOptions{Interceptors: []rpc.ServerInterceptor{rec.interceptor("a"), rec.interceptor("b"), deny}}, newArith())
	c := dial(t, addr, rpc.ClientOptions{})
	ctx := rpc.WithMetadata(context.Background(), rpc.Metadata{"k": "v"})

	tests := []struct {
		name    string
		method  string
		args    any
		reply   any
		wantErr string
		wantLog []string
	}{
		{"order and metadata", "Add", &Args{A: 1, B: 2}, new(Reply), "",
			[]string{"a>Arith.Add k=v", "b>Arith.Add k=v", "b<<nil>", "a<<nil>"}},
		{"method error seen by every interceptor", "Div", &Args{A: 1, B: 0}, new(Reply), "denied by interceptor",
			[]string{"a>Arith.Div k=v", "b>Arith.Div k=v", "b<denied by interceptor", "a<denied by interceptor"}},
		{"argument replaced", "Echo", "hello", new(string), "", nil},
		{"panic in an interceptor", "Sub", &Args{}, new(Reply), "interceptor panic", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec.log = nil
			err := c.Call(ctx, "Arith", tc.method, tc.args, tc.reply)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.wantLog != nil && fmt.Sprint(rec.log) != fmt.Sprint(tc.wantLog) {
				t.Fatalf("interceptors ran %q, want %q", rec.log, tc.wantLog)
			}
		})
	}
	var got string
	if err := c.Call(ctx, "Arith", "Echo", "hello", &got); err != nil || got != "HELLO" {
		t.Fatalf("Echo through the interceptor: %q, %v", got, err)
	}
}
