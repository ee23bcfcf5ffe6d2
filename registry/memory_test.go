package registry_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/longlink/longlink/registry"
)

func TestMemoryPeriodicHealthCheck(t *testing.T) {
	m := registry.NewMemoryWithOptions(registry.MemoryOptions{HealthInterval: 10 * time.Millisecond})
	w := mustWatch(t, m, "echo")
	var h switchableHealth
	reg := mustRegister(t, m, registry.Instance{Service: "echo", ID: "e", Host: "127.0.0.1", Port: 1},
		registry.RegisterOptions{Health: h.check})
	defer mustDeregister(t, reg)
	waitSnapshot(t, w, "e", hasIDs("e"))
	h.set(errors.New("overloaded")) // no CheckHealth: the periodic check must notice
	waitSnapshot(t, w, "e excluded", hasIDs())
	h.set(nil)
	waitSnapshot(t, w, "e back", hasIDs("e"))
}

func TestMemoryHealthCallsNeverOverlap(t *testing.T) {
	m := registry.NewMemoryWithOptions(registry.MemoryOptions{HealthInterval: time.Millisecond})
	var running, overlaps, calls atomic.Int32
	health := func() error {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		calls.Add(1)
		time.Sleep(100 * time.Microsecond) // widen the window an overlap would need
		running.Add(-1)
		return nil
	}
	reg := mustRegister(t, m, registry.Instance{Service: "echo", Host: "127.0.0.1", Port: 1}, registry.RegisterOptions{Health: health})
	for range 200 {
		m.CheckHealth()
	}
	mustDeregister(t, reg)
	if calls.Load() < 201 {
		t.Fatalf("%d Health calls, want at least 201", calls.Load())
	}
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d overlapping Health calls", n)
	}
	// After Deregister nothing calls Health any more.
	before := calls.Load()
	m.CheckHealth()
	if calls.Load() != before {
		t.Fatal("Health called after Deregister")
	}
}

func TestMemoryReplaceSameID(t *testing.T) {
	m := registry.NewMemory()
	w := mustWatch(t, m, "echo")
	old := mustRegister(t, m, registry.Instance{Service: "echo", ID: "e", Host: "127.0.0.1", Port: 1}, registry.RegisterOptions{})
	waitSnapshot(t, w, "old", func(s []registry.Instance) bool { return len(s) == 1 && s[0].Port == 1 })
	repl := mustRegister(t, m, registry.Instance{Service: "echo", ID: "e", Host: "127.0.0.1", Port: 2}, registry.RegisterOptions{})
	waitSnapshot(t, w, "replacement", func(s []registry.Instance) bool { return len(s) == 1 && s[0].Port == 2 })

	// The replaced registration no longer owns the entry.
	mustDeregister(t, old)
	mustDeregister(t, repl)
	waitSnapshot(t, w, "nothing", hasIDs())
}

// Several changes between two Next calls arrive as one snapshot, and a change
// that is undone before Next is no change at all.
func TestMemoryCoalescesChanges(t *testing.T) {
	m := registry.NewMemory()
	w := mustWatch(t, m, "echo")
	nextWithin(t, w, waitLimit)
	a := mustRegister(t, m, registry.Instance{Service: "echo", ID: "a", Host: "h", Port: 1}, registry.RegisterOptions{})
	b := mustRegister(t, m, registry.Instance{Service: "echo", ID: "b", Host: "h", Port: 2}, registry.RegisterOptions{})
	if got := nextWithin(t, w, waitLimit); !hasIDs("a", "b")(got) {
		t.Fatalf("snapshot %v, want [a b]", ids(got))
	}
	mustDeregister(t, b)
	b = mustRegister(t, m, registry.Instance{Service: "echo", ID: "b", Host: "h", Port: 2}, registry.RegisterOptions{})
	expectNoSnapshot(t, w, 50*time.Millisecond)
	mustDeregister(t, a)
	mustDeregister(t, b)
	if got := nextWithin(t, w, waitLimit); len(got) != 0 {
		t.Fatalf("snapshot %v, want empty", ids(got))
	}
}

func TestMemoryServicesAreSeparate(t *testing.T) {
	m := registry.NewMemory()
	wa, wb := mustWatch(t, m, "a"), mustWatch(t, m, "b")
	nextWithin(t, wb, waitLimit)
	reg := mustRegister(t, m, registry.Instance{Service: "a", ID: "a1", Host: "h", Port: 1}, registry.RegisterOptions{})
	defer mustDeregister(t, reg)
	waitSnapshot(t, wa, "a1", hasIDs("a1"))
	expectNoSnapshot(t, wb, 50*time.Millisecond)
}
