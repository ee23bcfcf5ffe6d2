package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/longlink/longlink/registry"
)

func TestNewStatic(t *testing.T) {
	tests := []struct {
		name     string
		services map[string][]string
		watch    string
		wantIDs  []string
		wantErr  error
	}{
		{"one service", map[string][]string{"echo": {"127.0.0.1:9001", "127.0.0.1:9000"}}, "echo",
			[]string{"echo-127.0.0.1:9000", "echo-127.0.0.1:9001"}, nil},
		{"ipv6 address", map[string][]string{"echo": {"[::1]:9000"}}, "echo", []string{"echo-[::1]:9000"}, nil},
		{"unknown service is empty", map[string][]string{"echo": {"127.0.0.1:9000"}}, "other", []string{}, nil},
		{"no services", nil, "echo", []string{}, nil},
		{"missing port", map[string][]string{"echo": {"127.0.0.1"}}, "", nil, registry.ErrInvalidInstance},
		{"port not a number", map[string][]string{"echo": {"127.0.0.1:http"}}, "", nil, registry.ErrInvalidInstance},
		{"port out of range", map[string][]string{"echo": {"127.0.0.1:70000"}}, "", nil, registry.ErrInvalidInstance},
		{"empty host", map[string][]string{"echo": {":9000"}}, "", nil, registry.ErrInvalidInstance},
		{"empty service name", map[string][]string{"": {"127.0.0.1:9000"}}, "", nil, registry.ErrInvalidInstance},
		{"duplicate address", map[string][]string{"echo": {"127.0.0.1:9000", "127.0.0.1:9000"}}, "", nil, registry.ErrInvalidInstance},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := registry.NewStatic(tc.services)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("NewStatic error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			w := mustWatch(t, s, tc.watch)
			got := nextWithin(t, w, waitLimit)
			if !hasIDs(tc.wantIDs...)(got) {
				t.Fatalf("snapshot %v, want %v", ids(got), tc.wantIDs)
			}
			for _, inst := range got {
				if inst.Weight != registry.DefaultWeight {
					t.Errorf("%s: weight %d, want %d", inst.ID, inst.Weight, registry.DefaultWeight)
				}
			}
		})
	}
}

func TestStaticInstancesCarryFields(t *testing.T) {
	started := time.UnixMilli(1_700_000_000_000)
	in := registry.Instance{Service: "echo", ID: "e1", Host: "10.0.0.1", Port: 7000, Tags: []string{"a"},
		Meta: map[string]string{"zone": "z1"}, Weight: 7, Version: "1.0", Group: "g", StartedAt: started}
	s, err := registry.NewStaticInstances(in, registry.Instance{Service: "other", Host: "h", Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := nextWithin(t, mustWatch(t, s, "echo"), waitLimit)
	if len(got) != 1 || !sameInstance(got[0], in) {
		t.Fatalf("snapshot %+v, want [%+v]", got, in)
	}
	// The snapshot belongs to the caller: changing it changes nothing inside.
	got[0].Tags[0], got[0].Meta["zone"] = "x", "x"
	again := nextWithin(t, mustWatch(t, s, "echo"), waitLimit)
	if !sameInstance(again[0], in) {
		t.Fatalf("registry changed through a delivered snapshot: %+v", again[0])
	}
}

func TestStaticWatchDeliversOnceThenBlocks(t *testing.T) {
	s, err := registry.NewStatic(map[string][]string{"echo": {"127.0.0.1:9000"}})
	if err != nil {
		t.Fatal(err)
	}
	w := mustWatch(t, s, "echo")
	nextWithin(t, w, waitLimit)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context = %v, want context.Canceled", err)
	}

	// Close unblocks a waiting Next with ErrClosed.
	errc := make(chan error, 1)
	go func() {
		_, err := w.Next(context.Background())
		errc <- err
	}()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, registry.ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestStaticRegisterAnnouncesNothing(t *testing.T) {
	s, err := registry.NewStatic(nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := mustRegister(t, s, registry.Instance{Service: "echo", Host: "127.0.0.1", Port: 9000},
		registry.RegisterOptions{Health: func() error { t.Error("Health called"); return nil }})
	if got := reg.Instance(); got.ID != "echo-127.0.0.1:9000" || got.Weight != registry.DefaultWeight {
		t.Fatalf("Instance() = %+v, want defaults filled in", got)
	}
	if got := nextWithin(t, mustWatch(t, s, "echo"), waitLimit); len(got) != 0 {
		t.Fatalf("snapshot %v, want empty", ids(got))
	}
	mustDeregister(t, reg)
	mustDeregister(t, reg)
	if _, err := s.Register(context.Background(), registry.Instance{Service: "echo"}, registry.RegisterOptions{}); !errors.Is(err, registry.ErrInvalidInstance) {
		t.Fatalf("Register(invalid) = %v, want ErrInvalidInstance", err)
	}
}
