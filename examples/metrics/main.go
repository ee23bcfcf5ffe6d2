// Command metrics runs a provider and a consumer in one process with their
// metrics exposed: Prometheus text on /metrics and the statistics snapshots
// as JSON on /stats, on a loopback port. It makes some calls (a few of them
// fail in the provider on purpose), scrapes itself, prints what it found
// and exits; with -serve it keeps serving, and calling, until interrupted.
//
//	go run ./examples/metrics
//	go run ./examples/metrics -serve -listen 127.0.0.1:9464   # then curl it
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/metrics"
	longlinkprom "github.com/longlink/longlink/metrics/prometheus"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
	"github.com/longlink/longlink/statshttp"
)

// Greeter is the service the provider offers.
type Greeter struct{}

type HelloRequest struct{ Name string }
type HelloReply struct{ Message string }

func (Greeter) Hello(_ context.Context, req *HelloRequest) (*HelloReply, error) {
	if req.Name == "" {
		return nil, errors.New("name required")
	}
	return &HelloReply{Message: "hello, " + req.Name}, nil
}

type options struct {
	listen string        // address of the HTTP server
	calls  int           // calls made before scraping
	serve  bool          // keep serving until interrupted
	every  time.Duration // while serving, time between calls
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address for /metrics and /stats")
	flag.IntVar(&o.calls, "calls", 50, "calls to make before scraping (one in ten fails on purpose)")
	flag.BoolVar(&o.serve, "serve", false, "keep serving (and calling once per -every) until interrupted")
	flag.DurationVar(&o.every, "every", time.Second, "with -serve, time between calls")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "metrics:", err)
		os.Exit(1)
	}
}

var quiet = slog.New(slog.DiscardHandler)

func run(ctx context.Context, out io.Writer, o options) error {
	// One Prometheus registry for the process, one recorder on it.
	reg := prometheus.NewRegistry()
	rec, err := longlinkprom.NewRecorder(reg, longlinkprom.Options{})
	if err != nil {
		return err
	}

	// The provider: server-side call metrics through an interceptor.
	names := registry.NewMemory()
	srv := rpc.NewServer(rpc.ServerOptions{
		Logger:       quiet,
		Interceptors: []rpc.ServerInterceptor{metrics.ServerInterceptor(rec)},
	})
	if err := srv.Register(Greeter{}); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	provider, err := longlink.StartProvider(ctx, srv, ln, names, longlink.ProviderOptions{Logger: quiet})
	if err != nil {
		return err
	}
	defer provider.Stop(context.Background())

	// The consumer: connection metrics from its pool.Manager, call metrics
	// and registry updates from its Client, connections by state at scrape
	// time.
	pools := pool.NewManager(pool.Options{Metrics: rec, Logger: quiet})
	defer pools.Close()
	reg.MustRegister(longlinkprom.NewPoolCollector(pools))
	client, err := longlink.NewClient(names, "Greeter", longlink.ClientOptions{Pool: pools, Metrics: rec, Logger: quiet})
	if err != nil {
		return err
	}
	defer client.Close()

	// /metrics and /stats.
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/stats", statshttp.New(statshttp.Options{Clients: []*longlink.Client{client}, Managers: []*pool.Manager{pools}}))
	hl, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(hl) }()
	defer func() {
		hs.Close()
		<-served
	}()
	base := "http://" + hl.Addr().String()
	fmt.Fprintf(out, "serving %s/metrics and %s/stats\n", base, base)

	okCalls, failed := 0, 0
	call := func(i int) {
		name := fmt.Sprint("caller-", i)
		if i%10 == 9 {
			name = "" // the provider refuses: an application error
		}
		var reply HelloReply
		if err := client.Call(ctx, "Hello", &HelloRequest{Name: name}, &reply); err != nil {
			failed++
		} else {
			okCalls++
		}
	}
	for i := range o.calls {
		call(i)
	}
	fmt.Fprintf(out, "made %d calls: %d ok, %d failed\n", o.calls, okCalls, failed)

	fmt.Fprintln(out, "\nscraped from /metrics:")
	if err := scrapeMetrics(out, base+"/metrics"); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nscraped from /stats:")
	if err := scrapeStats(out, base+"/stats"); err != nil {
		return err
	}

	if o.serve {
		fmt.Fprintf(out, "\nserving until interrupted; a call every %v\n", o.every)
		t := time.NewTicker(o.every)
		defer t.Stop()
		for i := o.calls; ; i++ {
			select {
			case <-ctx.Done():
				return nil
			case err := <-served:
				return err
			case <-t.C:
				call(i)
			}
		}
	}
	return nil
}

// interesting are the metric families worth printing here.
var interesting = []string{
	"longlink_client_calls_total",
	"longlink_server_calls_total",
	"longlink_client_calls_in_flight",
	"longlink_connections",
	"longlink_pools{state=\"ready\"}",
	"longlink_registry_instances",
	"longlink_redials_total",
}

func scrapeMetrics(out io.Writer, url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, p := range interesting {
			if strings.HasPrefix(line, p+" ") || strings.HasPrefix(line, p+"{") || (strings.HasSuffix(p, "}") && strings.HasPrefix(line, p)) {
				fmt.Fprintln(out, "  "+line)
				break
			}
		}
	}
	return sc.Err()
}

func scrapeStats(out io.Writer, url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var s statshttp.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return fmt.Errorf("decoding %s: %w", url, err)
	}
	for _, c := range s.Clients {
		for _, p := range c.Providers {
			fmt.Fprintf(out, "  %s at %s: %s, %d calls, %d connection(s)", c.Service, p.Addr, p.State, p.Calls, len(p.Pool.Connections))
			for _, conn := range p.Pool.Connections {
				if conn.LastHeartbeatRTTMs > 0 {
					fmt.Fprintf(out, ", heartbeat rtt %.3f ms", conn.LastHeartbeatRTTMs)
				} else {
					fmt.Fprint(out, ", no heartbeat ping yet (the link is busy or young)")
				}
			}
			fmt.Fprintln(out)
		}
	}
	return nil
}
