package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/longlink/longlink/internal/consultest"
	"github.com/longlink/longlink/registry"
)

// A registry under contract test, with a way to make pending health changes
// visible: Memory checks on demand; Consul's refresher does it by itself.
type contractCase struct {
	name  string
	setup func(t *testing.T) (r registry.Registry, settle func())
}

var contractCases = []contractCase{
	{"memory", func(t *testing.T) (registry.Registry, func()) {
		m := registry.NewMemoryWithOptions(registry.MemoryOptions{HealthInterval: -1})
		return m, m.CheckHealth
	}},
	{"consul", func(t *testing.T) (registry.Registry, func()) {
		return newConsul(t, fastOptions(t, consultest.Start(t))), func() {}
	}},
}

// TestContract runs the behaviour every dynamic registry promises.
func TestContract(t *testing.T) {
	for _, rc := range contractCases {
		t.Run(rc.name, func(t *testing.T) {
			r, settle := rc.setup(t)
			t.Run("RegisterWatchDeregister", func(t *testing.T) { contractRegisterWatchDeregister(t, r) })
			t.Run("HealthExcludes", func(t *testing.T) { contractHealthExcludes(t, r, settle) })
			t.Run("InvalidInstance", func(t *testing.T) { contractInvalidInstance(t, r) })
			t.Run("WatcherClose", func(t *testing.T) { contractWatcherClose(t, r) })
		})
	}
}

func contractRegisterWatchDeregister(t *testing.T, r registry.Registry) {
	svc := serviceName(t)
	w1 := mustWatch(t, r, svc)
	if got := nextWithin(t, w1, waitLimit); len(got) != 0 {
		t.Fatalf("first snapshot %v, want empty", ids(got))
	}
	in := registry.Instance{
		Service: svc, Host: "127.0.0.1", Port: 7001, Tags: []string{"blue", "green"},
		Meta: map[string]string{"zone": "z1"}, Weight: 42, Version: "2.1", Group: "canary",
		StartedAt: time.UnixMilli(1_700_000_000_123),
	}
	a := mustRegister(t, r, in, registry.RegisterOptions{})
	if a.Instance().ID != svc+"-127.0.0.1:7001" {
		t.Errorf("default ID %q", a.Instance().ID)
	}
	got := waitSnapshot(t, w1, "instance a", hasIDs(a.Instance().ID))
	if !sameInstance(got[0], a.Instance()) {
		t.Fatalf("watched %+v\nregistered %+v", got[0], a.Instance())
	}
	b := mustRegister(t, r, registry.Instance{Service: svc, ID: "b", Host: "127.0.0.1", Port: 7002}, registry.RegisterOptions{})
	if b.Instance().Weight != registry.DefaultWeight {
		t.Errorf("default weight %d", b.Instance().Weight)
	}
	waitSnapshot(t, w1, "a and b", hasIDs(a.Instance().ID, "b"))

	// A second watcher starts from the current set.
	w2 := mustWatch(t, r, svc)
	if got := waitSnapshot(t, w2, "a and b", hasIDs(a.Instance().ID, "b")); len(got) != 2 {
		t.Fatal(got)
	}

	mustDeregister(t, a)
	waitSnapshot(t, w1, "b alone", hasIDs("b"))
	waitSnapshot(t, w2, "b alone", hasIDs("b"))
	mustDeregister(t, a) // again: nil
	mustDeregister(t, b)
	waitSnapshot(t, w1, "nothing", hasIDs())
}

func contractHealthExcludes(t *testing.T, r registry.Registry, settle func()) {
	svc := serviceName(t)
	w := mustWatch(t, r, svc)
	var h switchableHealth
	reg := mustRegister(t, r, registry.Instance{Service: svc, ID: "h", Host: "127.0.0.1", Port: 7003},
		registry.RegisterOptions{Health: h.check})
	waitSnapshot(t, w, "the healthy instance", hasIDs("h"))

	h.set(errors.New("draining"))
	settle()
	waitSnapshot(t, w, "the instance excluded", hasIDs())

	h.set(nil)
	settle()
	waitSnapshot(t, w, "the instance back", hasIDs("h"))
	mustDeregister(t, reg)

	// An instance that is not serving when it registers never appears.
	never := mustRegister(t, r, registry.Instance{Service: svc, ID: "never", Host: "127.0.0.1", Port: 7004},
		registry.RegisterOptions{Health: func() error { return errors.New("not ready") }})
	defer mustDeregister(t, never)
	ok := mustRegister(t, r, registry.Instance{Service: svc, ID: "ok", Host: "127.0.0.1", Port: 7005}, registry.RegisterOptions{})
	defer mustDeregister(t, ok)
	// Snapshots arrive in order, so "never" cannot appear before "ok" does.
	waitSnapshot(t, w, "ok alone", func(insts []registry.Instance) bool {
		for _, inst := range insts {
			if inst.ID == "never" {
				t.Fatalf("an unhealthy instance was delivered: %v", ids(insts))
			}
		}
		return hasIDs("ok")(insts)
	})
}

func contractInvalidInstance(t *testing.T, r registry.Registry) {
	for _, tc := range []struct {
		name string
		inst registry.Instance
	}{
		{"no service", registry.Instance{Host: "127.0.0.1", Port: 1}},
		{"no host", registry.Instance{Service: "s", Port: 1}},
		{"port 0", registry.Instance{Service: "s", Host: "127.0.0.1"}},
		{"port too big", registry.Instance{Service: "s", Host: "127.0.0.1", Port: 65536}},
		{"negative weight", registry.Instance{Service: "s", Host: "127.0.0.1", Port: 1, Weight: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := r.Register(context.Background(), tc.inst, registry.RegisterOptions{})
			if !errors.Is(err, registry.ErrInvalidInstance) {
				t.Fatalf("Register = %v, %v; want ErrInvalidInstance", reg, err)
			}
		})
	}
}

func contractWatcherClose(t *testing.T, r registry.Registry) {
	w := mustWatch(t, r, serviceName(t))
	nextWithin(t, w, waitLimit)
	errc := make(chan error, 1)
	go func() {
		_, err := w.Next(context.Background())
		errc <- err
	}()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, registry.ErrClosed) {
		t.Fatalf("blocked Next after Close = %v, want ErrClosed", err)
	}
	if _, err := w.Next(context.Background()); !errors.Is(err, registry.ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
}
