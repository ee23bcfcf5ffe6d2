package rpc_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"

	"github.com/longlink/longlink/internal/benchmsg"
	"github.com/longlink/longlink/rpc"
)

// Echo is the benchmark service: it returns its argument.
type Echo struct{}

func (Echo) Message(_ context.Context, m *benchmsg.Message) (*benchmsg.Message, error) { return m, nil }
func (Echo) Tiny(_ context.Context, m *benchmsg.Tiny) (*benchmsg.Tiny, error)          { return m, nil }

// benchConn starts a server with Echo on loopback TCP and dials it.
func benchConn(b *testing.B) *rpc.Conn {
	b.Helper()
	srv := rpc.NewServer(rpc.ServerOptions{})
	if err := srv.Register(Echo{}); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	c, err := rpc.Dial(context.Background(), ln.Addr().String(), rpc.ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(); srv.Close() })
	return c
}

func BenchmarkRoundTrip(b *testing.B) {
	cases := []struct {
		name   string
		method string
		arg    func() any
		reply  func() any
	}{
		{"tiny", "Tiny", func() any { return &benchmsg.Tiny{S: "ping"} }, func() any { return new(benchmsg.Tiny) }},
		{"1KiB", "Message", func() any { return benchmsg.New() }, func() any { return new(benchmsg.Message) }},
	}
	for _, tc := range cases {
		b.Run(tc.name+"/serial", func(b *testing.B) {
			c := benchConn(b)
			arg, reply := tc.arg(), tc.reply()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Call(context.Background(), "Echo", tc.method, arg, reply); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, goroutines := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/parallel%d", tc.name, goroutines), func(b *testing.B) {
				c := benchConn(b)
				b.SetParallelism(goroutines / runtime.GOMAXPROCS(0))
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					arg, reply := tc.arg(), tc.reply()
					for pb.Next() {
						if err := c.Call(context.Background(), "Echo", tc.method, arg, reply); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
