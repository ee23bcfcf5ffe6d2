package rpc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/longlink/longlink/rpc"
)

// Receivers of every kind, for the direct (reflect-free) call path.
type (
	ptrRcvr   struct{ tag string }
	valueRcvr struct{ tag string }
	mapRcvr   map[string]string
)

func (r *ptrRcvr) Tag(_ context.Context, x *Args) (*Reply, error) {
	return &Reply{C: x.A + len(r.tag)}, nil
}
func (r *ptrRcvr) Nil(context.Context, *Args) (*Reply, error) { return nil, nil }
func (r *ptrRcvr) Fail(context.Context, *Args) (*Reply, error) {
	return &Reply{C: 1}, errors.New("failed on purpose")
}
func (r *ptrRcvr) Value(_ context.Context, x Args) (*Reply, error) { return &Reply{C: x.A * 2}, nil }

// Set would change the receiver if it were shared; a value receiver gets a
// copy per call.
func (r valueRcvr) Tag(_ context.Context, x *Args) (*Reply, error) {
	r.tag += "changed"
	return &Reply{C: x.A + len(r.tag)}, nil
}
func (r mapRcvr) Tag(_ context.Context, x *Args) (*Reply, error) {
	return &Reply{C: x.A + len(r["tag"])}, nil
}

func TestHandlerShapes(t *testing.T) {
	tests := []struct {
		name    string
		rcvr    any
		method  string
		arg     any
		direct  bool
		want    int
		wantErr string
	}{
		{"pointer receiver", &ptrRcvr{tag: "abc"}, "Tag", &Args{A: 1}, true, 4, ""},
		{"value receiver registered as a value", valueRcvr{tag: "abcd"}, "Tag", &Args{A: 1}, true, 12, ""},
		{"value receiver registered as a pointer", &valueRcvr{tag: "ab"}, "Tag", &Args{A: 1}, true, 10, ""},
		{"map receiver", mapRcvr{"tag": "abcde"}, "Tag", &Args{A: 1}, true, 6, ""},
		{"nil reply", &ptrRcvr{}, "Nil", &Args{}, true, 0, ""}, // a nil reply zeroes the caller's
		{"error wins over the reply", &ptrRcvr{}, "Fail", &Args{}, true, 0, "failed on purpose"},
		{"value argument: reflect path", &ptrRcvr{}, "Value", Args{A: 21}, false, 42, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, addr := startServer(t, rpc.ServerOptions{}, tc.rcvr)
			if got := rpc.CallsDirectly(srv, "Arith", tc.method); got != tc.direct {
				t.Fatalf("CallsDirectly = %v, want %v", got, tc.direct)
			}
			c := dial(t, addr, rpc.ClientOptions{})
			for range 2 { // twice: the receiver must not keep state between calls
				reply := &Reply{C: -1}
				err := c.Call(context.Background(), "Arith", tc.method, tc.arg, reply)
				if tc.wantErr != "" {
					var re *rpc.RemoteError
					if !errors.As(err, &re) || re.Status != rpc.StatusApplication || re.Message != tc.wantErr {
						t.Fatalf("Call error = %v, want application error %q", err, tc.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if reply.C != tc.want {
					t.Fatalf("reply = %d, want %d", reply.C, tc.want)
				}
			}
		})
	}
}

// An interceptor that replaces the argument with one of the wrong type gets
// an internal error, as a panicking handler would, and the server goes on.
func TestInterceptorWrongArgType(t *testing.T) {
	wrong := func(ctx context.Context, _ *rpc.ServerInfo, arg any, next rpc.Handler) (any, error) {
		if a, ok := arg.(*Args); ok && a.A == 13 {
			return next(ctx, "not *Args")
		}
		return next(ctx, arg)
	}
	_, addr := startServer(t, rpc.ServerOptions{Interceptors: []rpc.ServerInterceptor{wrong}}, &ptrRcvr{tag: "x"})
	c := dial(t, addr, rpc.ClientOptions{})
	var reply Reply
	err := c.Call(context.Background(), "Arith", "Tag", &Args{A: 13}, &reply)
	var re *rpc.RemoteError
	if !errors.As(err, &re) || re.Status != rpc.StatusInternal {
		t.Fatalf("Call error = %v, want an internal error", err)
	}
	if err := c.Call(context.Background(), "Arith", "Tag", &Args{A: 1}, &reply); err != nil || reply.C != 2 {
		t.Fatalf("next call: reply %d, err %v; want 2, nil", reply.C, err)
	}
}
