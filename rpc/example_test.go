package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/longlink/longlink/rpc"
)

// Greeter is an example service.
type Greeter struct{}

type HelloRequest struct{ Name string }
type HelloReply struct{ Message string }

func (Greeter) Hello(ctx context.Context, req *HelloRequest) (*HelloReply, error) {
	if req.Name == "" {
		return nil, errors.New("name is required")
	}
	return &HelloReply{Message: "hello, " + req.Name}, nil
}

func ExampleServer() {
	srv := rpc.NewServer(rpc.ServerOptions{Executes: 100})
	if err := srv.Register(Greeter{}); err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	c, err := rpc.Dial(context.Background(), ln.Addr().String(), rpc.ClientOptions{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var reply HelloReply
	err = c.Call(context.Background(), "Greeter", "Hello", &HelloRequest{Name: "gopher"}, &reply)
	fmt.Println(reply.Message, err)
	// Output: hello, gopher <nil>
}

func ExampleConn_Call_errors() {
	srv := rpc.NewServer(rpc.ServerOptions{})
	srv.Register(Greeter{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	c, _ := rpc.Dial(context.Background(), ln.Addr().String(), rpc.ClientOptions{})
	defer c.Close()

	err := c.Call(context.Background(), "Greeter", "Hello", &HelloRequest{}, new(HelloReply))
	var re *rpc.RemoteError
	if errors.As(err, &re) && re.Status == rpc.StatusApplication {
		fmt.Println("application error:", re.Message, "- retry?", rpc.Retryable(err))
	}
	err = c.Call(context.Background(), "Greeter", "Goodbye", &HelloRequest{}, new(HelloReply))
	fmt.Println(errors.Is(err, rpc.ErrUnknownMethod))
	// Output:
	// application error: name is required - retry? false
	// true
}

func ExampleConn_Go() {
	srv := rpc.NewServer(rpc.ServerOptions{})
	srv.Register(Greeter{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	c, _ := rpc.Dial(context.Background(), ln.Addr().String(), rpc.ClientOptions{})
	defer c.Close()

	done := make(chan *rpc.Call, 2)
	c.Go(context.Background(), "Greeter", "Hello", &HelloRequest{Name: "a"}, new(HelloReply), done)
	c.Go(context.Background(), "Greeter", "Hello", &HelloRequest{Name: "b"}, new(HelloReply), done)
	got := map[string]bool{}
	for range 2 {
		call := <-done
		got[call.Reply.(*HelloReply).Message] = true
	}
	fmt.Println(got["hello, a"], got["hello, b"])
	// Output: true true
}
