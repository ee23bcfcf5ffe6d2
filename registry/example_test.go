package registry_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/longlink/longlink/registry"
)

// A provider registers into an in-process registry; a consumer in the same
// process follows the service, one full snapshot per change.
func ExampleMemory() {
	ctx := context.Background()
	reg := registry.NewMemory()

	w, err := reg.Watch(ctx, "echo")
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()

	a, _ := reg.Register(ctx, registry.Instance{Service: "echo", Host: "127.0.0.1", Port: 9001}, registry.RegisterOptions{})
	b, _ := reg.Register(ctx, registry.Instance{Service: "echo", Host: "127.0.0.1", Port: 9002, Weight: 50}, registry.RegisterOptions{})

	insts, _ := w.Next(ctx)
	for _, inst := range insts {
		fmt.Println(inst.ID, inst.Addr(), inst.Weight)
	}

	_ = a.Deregister(ctx)
	insts, _ = w.Next(ctx)
	fmt.Println(len(insts), "left:", insts[0].ID)
	_ = b.Deregister(ctx)

	// Output:
	// echo-127.0.0.1:9001 127.0.0.1:9001 100
	// echo-127.0.0.1:9002 127.0.0.1:9002 50
	// 1 left: echo-127.0.0.1:9002
}

// An instance whose Health function fails leaves the healthy set.
func ExampleMemory_CheckHealth() {
	ctx := context.Background()
	reg := registry.NewMemory()
	var draining atomic.Bool // Health runs on the registry's goroutine too
	r, _ := reg.Register(ctx, registry.Instance{Service: "echo", Host: "127.0.0.1", Port: 9001}, registry.RegisterOptions{
		Health: func() error {
			if draining.Load() {
				return errors.New("draining")
			}
			return nil
		},
	})
	defer r.Deregister(ctx)
	w, _ := reg.Watch(ctx, "echo")
	defer w.Close()

	insts, _ := w.Next(ctx)
	fmt.Println(len(insts), "healthy")
	draining.Store(true)
	reg.CheckHealth() // or wait for the periodic check (every second by default)
	insts, _ = w.Next(ctx)
	fmt.Println(len(insts), "healthy")

	// Output:
	// 1 healthy
	// 0 healthy
}

// Consumers configured with fixed addresses.
func ExampleNewStatic() {
	reg, err := registry.NewStatic(map[string][]string{"echo": {"10.0.0.2:9000", "10.0.0.1:9000"}})
	if err != nil {
		log.Fatal(err)
	}
	w, _ := reg.Watch(context.Background(), "echo")
	defer w.Close()
	insts, _ := w.Next(context.Background())
	for _, inst := range insts {
		fmt.Println(inst.Addr())
	}

	// Output:
	// 10.0.0.1:9000
	// 10.0.0.2:9000
}

// A provider announces itself through the local Consul agent and a consumer
// follows the service. It needs a running agent, for example
// `scripts/consul-agent dev`.
func ExampleNewConsul() {
	reg, err := registry.NewConsul(registry.ConsulOptions{
		Config: api.DefaultConfig(), // CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, ...
		TTL:    10 * time.Second,
		Logger: slog.Default(),
	})
	if err != nil {
		log.Fatal(err) // ErrUnreachable or ErrAccessDenied, with the details
	}
	defer reg.Close()
	ctx := context.Background()

	// Provider side: registered, and its TTL check refreshed, until Deregister.
	r, err := reg.Register(ctx, registry.Instance{
		Service: "echo", Host: "127.0.0.1", Port: 9000,
		Version: "1.0", StartedAt: time.Now(),
	}, registry.RegisterOptions{
		Health: func() error { return nil }, // report overload or draining here
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Deregister(ctx)

	// Consumer side: full snapshots of the passing instances.
	w, err := reg.Watch(ctx, "echo")
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	for {
		insts, err := w.Next(ctx)
		if err != nil {
			return
		}
		fmt.Println(len(insts), "instances of echo")
	}
}
