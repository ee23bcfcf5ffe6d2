package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/examples/consul/greeter"
	"github.com/longlink/longlink/internal/consultest"
	"github.com/longlink/longlink/internal/testutil"
	"github.com/longlink/longlink/registry"
)

// The provider registers in Consul, serves, and on a signal (ctx ending)
// leaves: deregistered, drained, closed.
func TestProvider(t *testing.T) {
	agent := consultest.Start(t)
	t.Setenv("CONSUL_HTTP_ADDR", agent.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testutil.SyncBuffer
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-name", "p1", "-drain", "10s"}, &out, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("provider exited: %v\n%s", err, out.String())
	}

	reg, err := registry.NewConsul(registry.ConsulOptions{Config: &api.Config{Address: agent.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	c, err := longlink.NewClient(reg, greeter.Service, longlink.ClientOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var reply greeter.HelloReply
	if err := c.Call(context.Background(), "Hello", &greeter.HelloRequest{Name: "consul"}, &reply); err != nil || reply.From != "p1" {
		t.Fatalf("call through Consul: %+v, %v", reply, err)
	}

	cancel() // what SIGINT or SIGTERM does
	if err := <-done; err != nil {
		t.Fatalf("leaving: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "left without losing a call") {
		t.Fatalf("output:\n%s", out.String())
	}
	entries, _, err := reg.Client().Health().Service(greeter.Service, "", false, nil)
	if err != nil || len(entries) != 0 {
		t.Fatalf("after leaving Consul lists %d instances (%v); %s was to deregister", len(entries), err, addr)
	}
}
