package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/examples/consul/greeter"
	"github.com/longlink/longlink/internal/consultest"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

func TestConsumer(t *testing.T) {
	agent := consultest.Start(t)
	t.Setenv("CONSUL_HTTP_ADDR", agent.Addr())
	reg, err := registry.NewConsul(registry.ConsulOptions{Config: &api.Config{Address: agent.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	srv := rpc.NewServer(rpc.ServerOptions{Logger: quiet})
	srv.RegisterName(greeter.Service, &greeter.Greeter{Name: "p1"})
	p, err := longlink.StartProvider(context.Background(), srv, ln, reg, longlink.ProviderOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())

	var out bytes.Buffer
	if err := run(context.Background(), []string{"-n", "5", "-every", "10ms"}, &out); err != nil {
		t.Fatalf("consumer: %v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "hello, gopher (from p1)"); n != 5 {
		t.Fatalf("%d greetings:\n%s", n, out.String())
	}
	if !regexp.MustCompile(regexp.QuoteMeta(ln.Addr().String()) + `\s+ready\s+calls 5`).MatchString(out.String()) {
		t.Fatalf("no stats line for the provider:\n%s", out.String())
	}
}
