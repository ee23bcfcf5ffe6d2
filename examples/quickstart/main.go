// Command quickstart runs providers and a consumer in one process, with no
// Consul: it makes calls under load, kills a provider (failover), freezes
// one (heartbeat eviction, then redial when it thaws), restarts the killed
// one, and prints the connection stats as it goes. It ends by itself.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/internal/faultnet"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

// Greeter is the service the providers offer.
type Greeter struct{ name string }

type HelloRequest struct{ Name string }
type HelloReply struct{ Message, From string }

func (g *Greeter) Hello(ctx context.Context, req *HelloRequest) (*HelloReply, error) {
	time.Sleep(time.Millisecond) // some work
	return &HelloReply{Message: "hello, " + req.Name, From: g.name}, nil
}

func main() {
	var opts options
	flag.DurationVar(&opts.heartbeat, "heartbeat", 250*time.Millisecond, "heartbeat interval of the consumer's connections")
	flag.DurationVar(&opts.phase, "phase", 1500*time.Millisecond, "how long each phase runs")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, opts); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

type options struct {
	heartbeat time.Duration
	phase     time.Duration
}

// provider is one Greeter server behind a fault-injecting proxy; the
// registry announces the proxy's address.
type provider struct {
	name string
	px   *faultnet.Proxy
	p    *longlink.Provider
}

func startProvider(reg registry.Registry, name string) (*provider, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	px, err := faultnet.Listen(ln.Addr().String(), faultnet.Options{})
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := rpc.NewServer(rpc.ServerOptions{Logger: quiet})
	if err := srv.Register(&Greeter{name: name}); err != nil {
		return nil, err
	}
	p, err := longlink.StartProvider(context.Background(), srv, ln, reg, longlink.ProviderOptions{Advertise: px.Addr(), Logger: quiet})
	if err != nil {
		px.Close()
		return nil, err
	}
	return &provider{name: name, px: px, p: p}, nil
}

var quiet = slog.New(slog.DiscardHandler)

func run(ctx context.Context, w io.Writer, opts options) error {
	out := &printer{w: w, start: time.Now(), names: map[string]string{}}
	reg := registry.NewMemory()
	var providers []*provider
	defer func() {
		for _, p := range providers {
			p.p.Stop(context.Background())
			p.px.Close()
		}
	}()
	for _, name := range []string{"alpha", "beta", "gamma"} {
		p, err := startProvider(reg, name)
		if err != nil {
			return err
		}
		providers = append(providers, p)
		out.names[p.px.Addr()] = name
	}
	out.say("started 3 providers (alpha, beta, gamma), each behind a fault-injecting proxy")

	manager := pool.NewManager(pool.Options{
		Conn:    rpc.ClientOptions{HeartbeatInterval: opts.heartbeat, Logger: quiet},
		Backoff: pool.Backoff{Base: 200 * time.Millisecond, Max: time.Second},
		Logger:  quiet,
	})
	defer manager.Close()
	client, err := longlink.NewClient(reg, "Greeter", longlink.ClientOptions{Pool: manager, Logger: quiet})
	if err != nil {
		return err
	}
	defer client.Close()
	out.say("consumer: heartbeat every %v, a silent connection is declared dead after %v at most",
		opts.heartbeat, opts.heartbeat*time.Duration(rpc.DefaultMaxMissedHeartbeats+1))

	load := startLoad(client, 8)
	defer load.stop()
	time.Sleep(opts.phase)
	out.phase("steady state", load, client)

	alpha, beta := providers[0], providers[1]
	alpha.px.SetRefuse(true)
	alpha.px.ResetAll()
	out.say("KILLED alpha: its connections reset and new ones refused, as if the process crashed (it stays in the registry)")
	time.Sleep(opts.phase)
	out.phase("after killing alpha: failover", load, client)

	evictions := stat(client, beta.px.Addr()).Pool.Evictions
	frozenAt := time.Now()
	beta.px.Freeze()
	out.say("FROZE beta: its proxy stops forwarding bytes; the sockets stay open, so TCP sees nothing wrong")
	for stat(client, beta.px.Addr()).Pool.Evictions == evictions {
		if time.Since(frozenAt) > time.Minute {
			return fmt.Errorf("beta was not evicted within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	out.say("EVICTED beta after %v: heartbeats went unanswered", time.Since(frozenAt).Round(time.Millisecond))
	load.served() // the next phase counts from the eviction
	time.Sleep(opts.phase)
	out.phase("while beta is frozen: traffic on the others", load, client)

	beta.px.Pass()
	alpha.px.SetRefuse(false)
	out.say("THAWED beta and RESTARTED alpha: the pool redials both in the background")
	deadline := time.Now().Add(time.Minute)
	for stat(client, beta.px.Addr()).State != pool.Ready || stat(client, alpha.px.Addr()).State != pool.Ready {
		if time.Now().After(deadline) {
			return fmt.Errorf("beta and alpha were not back in rotation within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(opts.phase)
	out.phase("all three back in rotation", load, client)
	load.stop()
	out.say("done: %d calls, %d failed", load.ok.Load(), load.failed.Load())
	if n := load.failed.Load(); n > 0 {
		return fmt.Errorf("%d calls failed", n)
	}
	return nil
}

func stat(c *longlink.Client, addr string) longlink.ProviderStats {
	for _, p := range c.Stats().Providers {
		if p.Addr == addr {
			return p
		}
	}
	return longlink.ProviderStats{}
}

// load calls Greeter.Hello from a few goroutines until stopped.
type load struct {
	ok, failed atomic.Int64
	from       sync.Map // provider name -> *atomic.Int64
	done       chan struct{}
	wg         sync.WaitGroup
	once       sync.Once
}

func startLoad(c *longlink.Client, workers int) *load {
	l := &load{done: make(chan struct{})}
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.done:
					return
				default:
				}
				var reply HelloReply
				if err := c.Call(context.Background(), "Hello", &HelloRequest{Name: "gopher"}, &reply); err != nil {
					l.failed.Add(1)
					continue
				}
				l.ok.Add(1)
				n, _ := l.from.LoadOrStore(reply.From, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		})
	}
	return l
}

func (l *load) stop() { l.once.Do(func() { close(l.done); l.wg.Wait() }) }

// served returns and resets the per-provider counts.
func (l *load) served() string {
	var parts []string
	for _, name := range []string{"alpha", "beta", "gamma"} {
		if n, ok := l.from.Load(name); ok {
			parts = append(parts, fmt.Sprintf("%s %d", name, n.(*atomic.Int64).Swap(0)))
		}
	}
	return strings.Join(parts, ", ")
}

type printer struct {
	w     io.Writer
	start time.Time
	names map[string]string // advertised address -> provider name
}

func (p *printer) say(format string, args ...any) {
	fmt.Fprintf(p.w, "[%5.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// phase prints the calls of the phase and the client's connection stats.
func (p *printer) phase(name string, l *load, c *longlink.Client) {
	p.say("--- %s: calls so far %d, failed %d; this phase served by: %s", name, l.ok.Load(), l.failed.Load(), l.served())
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    provider\tstate\tin flight\tcalls\tretried attempts\tconns\theartbeat rtt (pings go only on idle links)\tevictions\tredials")
	for _, s := range c.Stats().Providers {
		var rtt time.Duration
		for _, cs := range s.Pool.Connections {
			rtt = cs.LastHeartbeatRTT
		}
		fmt.Fprintf(tw, "    %s\t%v\t%d\t%d\t%d\t%d\t%v\t%d\t%d\n", p.names[s.Addr], s.State, s.InFlight, s.Calls, s.Failures,
			len(s.Pool.Connections), rtt.Round(time.Microsecond), s.Pool.Evictions, s.Pool.Redials)
	}
	tw.Flush()
}
