package statshttp_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/internal/faultnet"
	"github.com/longlink/longlink/internal/testutil"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
	"github.com/longlink/longlink/statshttp"
)

const longWait = 30 * time.Second

var quiet = slog.New(slog.DiscardHandler)

type Echo struct{}

func (Echo) Echo(_ context.Context, v *int) (*int, error) { return v, nil }

// startProvider serves Echo behind a proxy and registers the proxy.
func startProvider(t *testing.T, names *registry.Memory) *faultnet.Proxy {
	t.Helper()
	srv := rpc.NewServer(rpc.ServerOptions{Logger: quiet})
	if err := srv.Register(Echo{}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-served })
	px, err := faultnet.Listen(ln.Addr().String(), faultnet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { px.Close() })
	host, port, _ := net.SplitHostPort(px.Addr())
	n, _ := strconv.Atoi(port)
	reg, err := names.Register(context.Background(), registry.Instance{
		Service: "Echo", Host: host, Port: n, Version: "1.0", Tags: []string{"blue"},
	}, registry.RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Deregister(context.Background()) })
	return px
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, longWait, what, cond)
}

// get fetches the document, decoded twice: as a Snapshot and as generic
// JSON, to check the field names on the wire.
func get(t *testing.T, url string) (statshttp.Snapshot, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("GET: %s, Content-Type %q: %s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	var s statshttp.Snapshot
	var raw map[string]any
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	return s, raw
}

// keys checks that a JSON object has exactly these fields.
func keys(t *testing.T, what string, v any, want ...string) map[string]any {
	t.Helper()
	obj, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: %T, want an object", what, v)
	}
	if len(obj) != len(want) {
		t.Errorf("%s has %d fields, want %d (%v)", what, len(obj), len(want), want)
	}
	for _, k := range want {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s: no field %q", what, k)
		}
	}
	return obj
}

func first(t *testing.T, what string, v any) any {
	t.Helper()
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("%s: %v, want a non-empty list", what, v)
	}
	return list[0]
}

var (
	poolKeys = []string{"addr", "state", "size", "dialling", "dials", "dial_failures", "redials", "evictions", "last_error", "retry_in_ms", "connections"}
	connKeys = []string{"addr", "state", "in_flight", "calls", "failures", "pings", "last_heartbeat_rtt_ms", "error"}
)

func TestHandler(t *testing.T) {
	names := registry.NewMemory()
	px := startProvider(t, names)
	m := pool.NewManager(pool.Options{
		Conn:    rpc.ClientOptions{HeartbeatInterval: 20 * time.Millisecond, DialTimeout: 100 * time.Millisecond, Logger: quiet},
		Backoff: pool.Backoff{Base: time.Hour}, // stays backing off once a dial fails
		Logger:  quiet,
	})
	t.Cleanup(m.Close)
	c, err := longlink.NewClient(names, "Echo", longlink.ClientOptions{Pool: m, Version: "1.0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for i := range 7 {
		var out int
		if err := c.Call(context.Background(), "Echo", &i, &out); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a heartbeat round trip", func() bool {
		return c.Stats().Providers[0].Pool.Connections[0].LastHeartbeatRTT > 0
	})
	srv := httptest.NewServer(statshttp.New(statshttp.Options{Clients: []*longlink.Client{c}, Managers: []*pool.Manager{m}}))
	defer srv.Close()

	s, raw := get(t, srv.URL)
	keys(t, "document", raw, "time", "clients", "pools")
	cl := keys(t, "client", first(t, "clients", raw["clients"]), "service", "sticky", "providers")
	pr := keys(t, "provider", first(t, "providers", cl["providers"]), "addr", "state", "weight", "in_flight", "calls", "failures", "instance", "pool")
	keys(t, "instance", pr["instance"], "id", "version", "group", "weight", "tags", "meta", "started_at")
	pl := keys(t, "provider pool", pr["pool"], poolKeys...)
	keys(t, "connection", first(t, "connections", pl["connections"]), connKeys...)
	keys(t, "pool", first(t, "pools", raw["pools"]), poolKeys...)
	if raw["clients"].([]any)[0].(map[string]any)["providers"].([]any)[0].(map[string]any)["instance"].(map[string]any)["started_at"] != nil {
		t.Error("unknown start time is not null")
	}

	if time.Since(s.Time) > time.Hour || len(s.Clients) != 1 || len(s.Pools) != 1 {
		t.Fatalf("snapshot %+v", s)
	}
	p := s.Clients[0].Providers[0]
	if s.Clients[0].Service != "Echo" || p.Addr != px.Addr() || p.State != "ready" || p.Calls != 7 || p.Failures != 0 ||
		p.Instance.Version != "1.0" || len(p.Instance.Tags) != 1 || p.Instance.Tags[0] != "blue" || p.Weight != registry.DefaultWeight {
		t.Errorf("provider %+v", p)
	}
	conn := s.Pools[0].Connections[0]
	if s.Pools[0].State != "ready" || s.Pools[0].Size != 1 || s.Pools[0].Dials != 1 || len(s.Pools[0].Connections) != 1 ||
		conn.State != "ready" || conn.Calls != 7 || conn.LastHeartbeatRTTMs <= 0 || conn.Error != "" || s.Pools[0].LastError != "" {
		t.Errorf("pool %+v", s.Pools[0])
	}

	// Frozen: evicted, then the dial fails and the pool backs off with the
	// dial's error as a string and the wait in milliseconds.
	px.Freeze()
	waitFor(t, "the pool backing off", func() bool { return c.Stats().Providers[0].State == pool.BackingOff })
	s, _ = get(t, srv.URL)
	bp := s.Pools[0]
	if bp.State != "backing_off" || s.Clients[0].Providers[0].State != "backing_off" || bp.LastError == "" ||
		bp.RetryInMs <= 0 || bp.Evictions != 1 || bp.DialFailures != 1 || len(bp.Connections) != 0 {
		t.Errorf("backing off: %+v", bp)
	}
	px.Pass()
}

func TestMethods(t *testing.T) {
	h := statshttp.New(statshttp.Options{})
	for _, tc := range []struct {
		method string
		code   int
		body   bool
	}{
		{http.MethodGet, http.StatusOK, true},
		{http.MethodHead, http.StatusOK, false},
		{http.MethodPost, http.StatusMethodNotAllowed, true},
		{http.MethodDelete, http.StatusMethodNotAllowed, true},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, "/stats", nil))
		if w.Code != tc.code || (w.Body.Len() > 0) != tc.body {
			t.Errorf("%s: %d with %d bytes", tc.method, w.Code, w.Body.Len())
		}
		if tc.code == http.StatusMethodNotAllowed && w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: Allow %q", tc.method, w.Header().Get("Allow"))
		}
	}
	// Empty, the lists are [] rather than null.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	var raw map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if l, ok := raw["clients"].([]any); !ok || len(l) != 0 {
		t.Errorf("clients: %#v", raw["clients"])
	}
	if l, ok := raw["pools"].([]any); !ok || len(l) != 0 {
		t.Errorf("pools: %#v", raw["pools"])
	}
}
