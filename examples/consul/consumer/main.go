// Command consumer discovers Greeter providers through Consul and calls them,
// printing which provider answered and, every few seconds, the connection
// stats. Start and stop providers while it runs to watch it follow them.
//
//	go run ./examples/consul/consumer
//
// The Consul agent's address comes from CONSUL_HTTP_ADDR (default
// 127.0.0.1:8500).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/examples/consul/greeter"
	"github.com/longlink/longlink/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	every := fs.Duration("every", 200*time.Millisecond, "time between calls")
	calls := fs.Int("n", 0, "stop after this many successful calls (0: until interrupted)")
	statsEvery := fs.Duration("stats", 5*time.Second, "time between stats reports")
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
	client, err := longlink.NewClient(reg, greeter.Service, longlink.ClientOptions{Logger: log})
	if err != nil {
		return err
	}
	defer client.Close()

	tick := time.NewTicker(*every)
	defer tick.Stop()
	report := time.NewTicker(*statsEvery)
	defer report.Stop()
	ok := 0
	for *calls == 0 || ok < *calls {
		select {
		case <-ctx.Done():
			return nil
		case <-report.C:
			printStats(stdout, client.Stats())
			continue
		case <-tick.C:
		}
		var reply greeter.HelloReply
		err := client.Call(ctx, "Hello", &greeter.HelloRequest{Name: "gopher"}, &reply)
		if err != nil {
			fmt.Fprintln(stdout, "call failed:", err)
			continue
		}
		ok++
		fmt.Fprintf(stdout, "%s (from %s)\n", reply.Message, reply.From)
	}
	printStats(stdout, client.Stats())
	return nil
}

func printStats(w io.Writer, st longlink.ClientStats) {
	fmt.Fprintf(w, "providers of %s:\n", st.Service)
	for _, p := range st.Providers {
		var rtt time.Duration
		for _, c := range p.Pool.Connections {
			rtt = c.LastHeartbeatRTT
		}
		fmt.Fprintf(w, "  %-21s %-11v calls %-6d failed attempts %-4d connections %d  heartbeat rtt %v  redials %d\n",
			p.Addr, p.State, p.Calls, p.Failures, len(p.Pool.Connections), rtt, p.Pool.Redials)
	}
}
