package pool_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/rpc"
)

type Greeter struct{}

func (Greeter) Hello(_ context.Context, name *string) (*string, error) {
	s := "hello, " + *name
	return &s, nil
}

func ExampleManager() {
	srv := rpc.NewServer(rpc.ServerOptions{})
	srv.Register(Greeter{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()

	m := pool.NewManager(pool.Options{
		Conn:    rpc.ClientOptions{HeartbeatInterval: time.Second}, // dead links found in 3-4 s
		Backoff: pool.Backoff{Base: 500 * time.Millisecond},        // gRPC's, starting faster
	})
	defer m.Close()

	// Two users of one address share one long connection.
	a, releaseA := m.Acquire(ln.Addr().String(), 0)
	defer releaseA()
	b, releaseB := m.Acquire(ln.Addr().String(), 0)
	defer releaseB()

	c, err := a.Conn(context.Background()) // the first use dials
	if err != nil {
		panic(err)
	}
	name, greeting := "gopher", ""
	err = c.Call(context.Background(), "Greeter", "Hello", &name, &greeting)
	fmt.Println(greeting, err, a == b, a.State())
	// Output: hello, gopher <nil> true ready
}

func ExampleActives() {
	limit := pool.NewActives(2) // at most 2 concurrent calls per key
	s1, _ := limit.Acquire(context.Background(), "10.0.0.1:20880/Greeter.Hello")
	s2, _ := limit.Acquire(context.Background(), "10.0.0.1:20880/Greeter.Hello")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := limit.Acquire(ctx, "10.0.0.1:20880/Greeter.Hello")
	fmt.Println(err != nil)
	s1.Release()
	s2.Release()
	// Output: true
}
