package main

import (
	"context"
	"net"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"

	"github.com/longlink/longlink/internal/benchmsg"
)

// msgpackCodec makes gRPC carry the same MessagePack bytes as longlink.
type msgpackCodec struct{}

func (msgpackCodec) Marshal(v any) ([]byte, error)      { return msgpack.Marshal(v) }
func (msgpackCodec) Unmarshal(data []byte, v any) error { return msgpack.Unmarshal(data, v) }
func (msgpackCodec) Name() string                       { return "msgpack" }

func init() { encoding.RegisterCodec(msgpackCodec{}) }

// grpcEchoServer is the handler type of the hand-written service descriptor
// (there is no protoc here); any value implements it.
type grpcEchoServer interface{}

var grpcEchoDesc = grpc.ServiceDesc{
	ServiceName: "bench.Echo",
	HandlerType: (*grpcEchoServer)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Message", Handler: grpcEchoHandler[benchmsg.Message]("/bench.Echo/Message")},
		{MethodName: "Tiny", Handler: grpcEchoHandler[benchmsg.Tiny]("/bench.Echo/Tiny")},
	},
	Metadata: "bench",
}

// grpcEchoHandler is a unary handler that decodes a T and returns it.
func grpcEchoHandler[T any](fullMethod string) grpc.MethodHandler {
	echo := func(_ context.Context, req any) (any, error) { return req, nil }
	return func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		in := new(T)
		if err := dec(in); err != nil {
			return nil, err
		}
		if icpt == nil {
			return echo(ctx, in)
		}
		return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}, echo)
	}
}

// grpcSystem is a gRPC server with the echo service and one ClientConn,
// both with default settings apart from the forced codec.
type grpcSystem struct {
	srv  *grpc.Server
	cc   *grpc.ClientConn
	done chan struct{} // closed when Serve has returned
}

var grpcSpec = systemSpec{
	name:  "grpc",
	label: "gRPC-go, one ClientConn, msgpack codec",
	start: func() (system, error) { return startGRPC() },
}

func startGRPC() (*grpcSystem, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(msgpackCodec{}))
	srv.RegisterService(&grpcEchoDesc, struct{}{})
	s := &grpcSystem{srv: srv, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = srv.Serve(ln)
	}()
	s.cc, err = grpc.NewClient("passthrough:///"+ln.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(msgpackCodec{})))
	if err != nil {
		s.srv.Stop()
		<-s.done
		return nil, err
	}
	return s, nil
}

func (s *grpcSystem) caller(ctx context.Context, msg string) (func() error, error) {
	method, req, reply, err := newMessages(msg)
	if err != nil {
		return nil, err
	}
	path := "/bench.Echo/" + method
	return func() error { return s.cc.Invoke(ctx, path, req, reply) }, nil
}

func (s *grpcSystem) close() {
	_ = s.cc.Close()
	s.srv.Stop()
	<-s.done
}
