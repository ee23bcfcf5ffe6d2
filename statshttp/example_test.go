package statshttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"strconv"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
	"github.com/longlink/longlink/statshttp"
)

// A provider, a consumer, and the consumer's /stats read back.
func ExampleNew() {
	quiet := slog.New(slog.DiscardHandler)
	srv := rpc.NewServer(rpc.ServerOptions{Logger: quiet})
	srv.Register(Echo{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	names := registry.NewMemory()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	n, _ := strconv.Atoi(port)
	reg, _ := names.Register(context.Background(), registry.Instance{Service: "Echo", Host: host, Port: n}, registry.RegisterOptions{})
	defer reg.Deregister(context.Background())

	m := pool.NewManager(pool.Options{Logger: quiet})
	defer m.Close()
	c, _ := longlink.NewClient(names, "Echo", longlink.ClientOptions{Pool: m, Logger: quiet})
	defer c.Close()
	for i := range 3 {
		var out int
		c.Call(context.Background(), "Echo", &i, &out)
	}

	h := statshttp.New(statshttp.Options{Clients: []*longlink.Client{c}, Managers: []*pool.Manager{m}})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/stats", nil))

	var s statshttp.Snapshot
	json.Unmarshal(w.Body.Bytes(), &s)
	p := s.Clients[0].Providers[0]
	fmt.Println(s.Clients[0].Service, p.State, p.Calls, "calls")
	fmt.Println("pool:", s.Pools[0].State, len(s.Pools[0].Connections), "connection,", s.Pools[0].Connections[0].Calls, "calls")
	// Output:
	// Echo ready 3 calls
	// pool: ready 1 connection, 3 calls
}
