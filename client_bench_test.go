package longlink_test

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

// BenchmarkClientCall is a call through the consumer client (routing, the
// default timeout, failover bookkeeping) to one provider over loopback TCP.
func BenchmarkClientCall(b *testing.B) {
	srv := rpc.NewServer(rpc.ServerOptions{Logger: quiet})
	srv.RegisterName("Echo", &EchoSvc{name: "p"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	reg, _ := registry.NewStaticInstances(registry.Instance{Service: "Echo", Host: host, Port: p})
	m := pool.NewManager(pool.Options{Logger: quiet})
	defer m.Close()
	c, err := longlink.NewClient(reg, "Echo", longlink.ClientOptions{Pool: m, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var out Msg
	if err := c.Call(context.Background(), "Echo", &Msg{}, &out); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Call(context.Background(), "Echo", &Msg{ID: 1}, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel100", func(b *testing.B) {
		b.SetParallelism(50)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var out Msg
			for pb.Next() {
				if err := c.Call(context.Background(), "Echo", &Msg{ID: 1}, &out); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
