package longlink_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/rpc"
)

// logRecord is one record a capture handler kept, its attributes (the
// logger's included) flattened to strings.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (r logRecord) String() string { return fmt.Sprintf("%v %q %v", r.level, r.msg, r.attrs) }

// capture is a slog.Handler that keeps every record, at every level.
type capture struct {
	mu      *sync.Mutex
	records *[]logRecord
	attrs   []slog.Attr
}

func newCapture() *capture { return &capture{mu: new(sync.Mutex), records: new([]logRecord)} }

func (h *capture) Enabled(context.Context, slog.Level) bool { return true }

func (h *capture) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { rec.attrs[a.Key] = a.Value.String(); return true })
	h.mu.Lock()
	*h.records = append(*h.records, rec)
	h.mu.Unlock()
	return nil
}

func (h *capture) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *capture) WithGroup(string) slog.Handler { return h } // unused by longlink

// since returns the records from index i on.
func (h *capture) since(i int) []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logRecord(nil), (*h.records)[i:]...)
}

func (h *capture) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(*h.records)
}

// find returns the records since i with this message and these attribute
// values (pairs of key and value).
func (h *capture) find(i int, msg string, attrs ...string) []logRecord {
	var out []logRecord
records:
	for _, r := range h.since(i) {
		if r.msg != msg {
			continue
		}
		for j := 0; j+1 < len(attrs); j += 2 {
			if r.attrs[attrs[j]] != attrs[j+1] {
				continue records
			}
		}
		out = append(out, r)
	}
	return out
}

func (h *capture) await(t *testing.T, i int, msg string, attrs ...string) logRecord {
	t.Helper()
	var found []logRecord
	waitFor(t, fmt.Sprintf("a log record %q %v", msg, attrs), func() bool { found = h.find(i, msg, attrs...); return len(found) > 0 })
	return found[0]
}

// loggedPool is fastPool logging to h, declaring a connection dead after
// missed silent intervals of 50 ms.
func loggedPool(t *testing.T, h slog.Handler, missed int) *pool.Manager {
	m := pool.NewManager(pool.Options{
		Conn:    rpc.ClientOptions{HeartbeatInterval: 50 * time.Millisecond, MaxMissedHeartbeats: missed, DialTimeout: 200 * time.Millisecond},
		Backoff: pool.Backoff{Base: 50 * time.Millisecond, Max: 200 * time.Millisecond},
		Logger:  slog.New(h),
	})
	t.Cleanup(m.Close)
	return m
}

// A healthy consumer under load and then idle (heartbeats only) logs
// nothing at info or above once its providers have joined.
func TestQuietWhenHealthy(t *testing.T) {
	cl := startCluster(t, 3)
	h := newCapture()
	// A generous budget (1 s): the providers share this process's CPU with
	// the load, and a starved provider is not what this test is about.
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Pool: loggedPool(t, h, 20), Logger: slog.New(h)})
	waitFor(t, "three ready providers", func() bool {
		st := c.Stats()
		if len(st.Providers) != 3 {
			return false
		}
		for _, p := range st.Providers {
			if p.State != pool.Ready {
				return false
			}
		}
		return true
	})
	if joined := h.find(0, "longlink: providers joined"); len(joined) != 1 || joined[0].level != slog.LevelInfo {
		t.Fatalf("providers joined: %v; want one info record", joined)
	}
	if n := len(h.find(0, "pool: connected")); n != 3 {
		t.Fatalf("%d connected records, want 3", n)
	}
	mark := h.len()

	l := startLoad(c, 8, "Echo")
	l.atLeast(t, 2000)
	l.finish(t)
	pings := func() uint64 {
		least := ^uint64(0)
		for _, p := range c.Stats().Providers {
			for _, cs := range p.Pool.Connections {
				least = min(least, cs.Pings)
			}
		}
		return least
	}
	base := pings()
	waitFor(t, "ten heartbeat pings on every connection", func() bool { return pings() >= base+10 })

	for _, r := range h.since(mark) {
		if r.level >= slog.LevelInfo {
			t.Errorf("healthy and steady, yet logged: %v", r)
		}
		if r.msg == "pool: redialled" || r.msg == "pool: dialling" {
			t.Errorf("healthy and steady, yet: %v", r)
		}
	}
}

// A provider that freezes, thaws and leaves logs its story: missed
// heartbeats (debug), the eviction with its reason and the failed dials
// (warn), the redial (info, distinct from the first connect), the departure
// (info) and the pool closing (debug).
func TestFaultLogs(t *testing.T) {
	cl := startCluster(t, 2) // two: an empty registry list would be ignored
	p := cl.providers[0]
	addr := p.addr()
	h := newCapture()
	newClient(t, cl.reg, "Echo", longlink.ClientOptions{Pool: loggedPool(t, h, 3), Logger: slog.New(h)})
	connected := h.await(t, 0, "pool: connected", "addr", addr)
	h.await(t, 0, "pool: connected", "addr", cl.providers[1].addr())
	if connected.level != slog.LevelDebug {
		t.Fatalf("first connect: %v", connected)
	}
	mark := h.len()

	p.px.Freeze()
	ev := h.await(t, mark, "pool: connection evicted", "addr", addr)
	if ev.level != slog.LevelWarn || ev.attrs["reason"] != "heartbeat_timeout" || ev.attrs["addr"] != addr ||
		!strings.Contains(ev.attrs["err"], "heartbeat timeout") {
		t.Fatalf("eviction: %v", ev)
	}
	// The first silent interval is routine (it sends a ping); the next ones
	// are missed heartbeats: with 3 allowed, at least 2 before the eviction.
	var missed int
	for _, r := range h.find(mark, "rpc: heartbeat missed", "peer", addr) {
		if r.level != slog.LevelDebug {
			t.Errorf("missed heartbeat above debug: %v", r)
		}
		missed++
	}
	if missed < 2 {
		t.Errorf("%d missed-heartbeat records before the eviction, want at least 2", missed)
	}
	if n := len(h.find(mark, "rpc: idle; pinging", "peer", addr)); n < 1 {
		t.Errorf("no record of the first, routine ping")
	}
	if bo := h.await(t, mark, "pool: dial failed; backing off", "addr", addr); bo.level != slog.LevelWarn || bo.attrs["failures"] != "1" || bo.attrs["retry_in"] == "" {
		t.Errorf("backing off: %v", bo)
	}
	if d := h.await(t, mark, "pool: dialling", "addr", addr); d.level != slog.LevelDebug {
		t.Errorf("dialling: %v", d)
	}

	p.px.Pass()
	re := h.await(t, mark, "pool: redialled", "addr", addr)
	if re.level != slog.LevelInfo || re.attrs["connections"] != "1" || re.attrs["failed_dials"] == "0" || re.attrs["down_for"] == "" {
		t.Errorf("redial: %v", re)
	}
	if n := len(h.find(mark, "pool: connected", "addr", addr)); n != 0 {
		t.Errorf("the redial was also logged as %d first connects", n)
	}

	p.reg.Deregister(context.Background())
	if left := h.await(t, mark, "longlink: provider left"); left.level != slog.LevelInfo || left.attrs["addr"] != addr {
		t.Errorf("provider left: %v", left)
	}
	if cl := h.await(t, mark, "pool: closing; draining connections", "addr", addr); cl.level != slog.LevelDebug {
		t.Errorf("closing: %v", cl)
	}
}
