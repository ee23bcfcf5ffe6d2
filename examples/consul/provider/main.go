// Command provider serves the Greeter service and registers it in Consul.
// On SIGINT or SIGTERM it leaves without losing a call: deregister,
// announce closing to consumers, wait for in-flight calls (at most -drain),
// close.
//
//	go run ./examples/consul/provider -listen 127.0.0.1:20880
//
// The Consul agent's address comes from CONSUL_HTTP_ADDR (default
// 127.0.0.1:8500), like every Consul client; ./scripts/consul-agent dev
// starts one.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/examples/consul/greeter"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "provider:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends (a signal), then leaves. It reports the address
// it serves on through ready, if not nil.
func run(ctx context.Context, args []string, stdout io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("provider", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:20880", "address to serve on")
	name := fs.String("name", "", "name to answer with (default: the listen address)")
	weight := fs.Int("weight", 100, "routing weight")
	warmup := fs.Duration("warmup", 0, "warm-up period announced to consumers")
	drain := fs.Duration("drain", 30*time.Second, "how long to wait for in-flight calls when leaving")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stdout = greeter.SyncWriter(stdout)
	log := slog.New(slog.NewTextHandler(stdout, nil))

	reg, err := registry.NewConsul(registry.ConsulOptions{Config: api.DefaultConfig(), Logger: log})
	if err != nil {
		return err
	}
	defer reg.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if *name == "" {
		*name = ln.Addr().String()
	}
	srv := rpc.NewServer(rpc.ServerOptions{Logger: log})
	if err := srv.RegisterName(greeter.Service, &greeter.Greeter{Name: *name}); err != nil {
		return err
	}
	p, err := longlink.StartProvider(ctx, srv, ln, reg, longlink.ProviderOptions{Weight: *weight, Warmup: *warmup, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "provider %s serving %s on %s; Ctrl-C to leave gracefully\n", *name, greeter.Service, ln.Addr())
	if ready != nil {
		ready <- ln.Addr().String()
	}

	<-ctx.Done()
	fmt.Fprintln(stdout, "leaving: deregister, announce closing, drain, close")
	leave, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := p.Stop(leave); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "left without losing a call")
	return nil
}
