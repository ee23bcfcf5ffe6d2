package prometheus_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/metrics"
	longlinkprom "github.com/longlink/longlink/metrics/prometheus"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

// Wiring a provider and a consumer to one Prometheus registry, then reading
// some series back as a scrape would.
func Example() {
	reg := prom.NewRegistry()
	rec, err := longlinkprom.NewRecorder(reg, longlinkprom.Options{})
	if err != nil {
		panic(err)
	}
	quiet := slog.New(slog.DiscardHandler)

	// Provider: server-side calls.
	srv := rpc.NewServer(rpc.ServerOptions{Logger: quiet, Interceptors: []rpc.ServerInterceptor{metrics.ServerInterceptor(rec)}})
	srv.RegisterName("Echo", &Svc{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	names := registry.NewMemory()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	n, _ := strconv.Atoi(port)
	r, _ := names.Register(context.Background(), registry.Instance{Service: "Echo", Host: host, Port: n}, registry.RegisterOptions{})
	defer r.Deregister(context.Background())

	// Consumer: connections from the pool, calls from the client, and
	// connections by state when scraped.
	pools := pool.NewManager(pool.Options{Metrics: rec, Logger: quiet})
	defer pools.Close()
	reg.MustRegister(longlinkprom.NewPoolCollector(pools))
	c, _ := longlink.NewClient(names, "Echo", longlink.ClientOptions{Pool: pools, Metrics: rec, Logger: quiet})
	defer c.Close()
	for i := range 4 {
		method := "Echo"
		if i == 3 {
			method = "Fail"
		}
		v, out := i, 0
		c.Call(context.Background(), method, &v, &out)
	}

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		switch mf.GetName() {
		case "longlink_client_calls_total", "longlink_server_calls_total", "longlink_connections":
			for _, m := range mf.GetMetric() {
				var labels []string
				for _, l := range m.GetLabel() {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
				v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
				fmt.Println(mf.GetName(), labels, v)
			}
		}
	}
	// Output:
	// longlink_client_calls_total [method=Echo outcome=ok service=Echo] 3
	// longlink_client_calls_total [method=Fail outcome=application_error service=Echo] 1
	// longlink_connections [state=draining] 0
	// longlink_connections [state=ready] 1
	// longlink_server_calls_total [method=Echo outcome=ok service=Echo] 3
	// longlink_server_calls_total [method=Fail outcome=application_error service=Echo] 1
}
