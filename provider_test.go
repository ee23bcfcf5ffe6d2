package longlink_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/internal/consultest"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

// startProvider serves a fresh EchoSvc named name on addr ("" for any
// loopback port) as a registered provider.
func startProvider(t *testing.T, reg registry.Registry, addr, name string, opts longlink.ProviderOptions) (*longlink.Provider, *EchoSvc, string) {
	t.Helper()
	ln := listen(t, addr)
	svc := &EchoSvc{name: name}
	srv := rpc.NewServer(rpc.ServerOptions{Logger: quiet})
	if err := srv.RegisterName("Echo", svc); err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	p, err := longlink.StartProvider(context.Background(), srv, ln, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background()) })
	return p, svc, ln.Addr().String()
}

func TestProviderRegistersThenLeaves(t *testing.T) {
	reg := registry.NewMemory()
	w, err := reg.Watch(context.Background(), "Echo")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	before := time.Now()
	p, _, addr := startProvider(t, reg, "", "p0", longlink.ProviderOptions{
		Weight: 50, Version: "1.2", Group: "blue", Warmup: time.Minute, Meta: map[string]string{"zone": "a"},
	})
	insts := nextNonEmpty(t, w)
	inst := insts[0]
	if inst.Addr() != addr || inst.Weight != 50 || inst.Version != "1.2" || inst.Group != "blue" ||
		inst.Meta["zone"] != "a" || inst.Meta[longlink.MetaWarmup] != "1m0s" || inst.StartedAt.Before(before.Add(-time.Second)) {
		t.Fatalf("registered %+v", inst)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if insts, err := w.Next(context.Background()); err != nil || len(insts) != 0 {
		t.Fatalf("after Stop the registry lists %v, %v", insts, err)
	}
	if nc, err := net.Dial("tcp", addr); err == nil {
		nc.Close()
		t.Fatal("the provider still accepts connections after Stop")
	}
}

func nextNonEmpty(t *testing.T, w registry.Watcher) []registry.Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), longWait)
	defer cancel()
	for {
		insts, err := w.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(insts) > 0 {
			return insts
		}
	}
}

// The health check passes only while the server really serves: a listener
// that dies takes the provider out of the passing set.
func TestProviderHealthFollowsServing(t *testing.T) {
	reg := registry.NewMemory()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewServer(rpc.ServerOptions{Logger: quiet})
	srv.RegisterName("Echo", &EchoSvc{})
	p, err := longlink.StartProvider(context.Background(), srv, &failingListener{Listener: ln}, reg, longlink.ProviderOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	w, _ := reg.Watch(context.Background(), "Echo")
	defer w.Close()
	nextNonEmpty(t, w)
	ln.Close() // the accept loop ends with an error
	waitFor(t, "the provider to fail its health check", func() bool {
		reg.CheckHealth()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		insts, err := w.Next(ctx)
		return err == nil && len(insts) == 0
	})
}

// failingListener turns the closed-listener error into a plain one, as a
// broken listener (not a Shutdown) would give.
type failingListener struct{ net.Listener }

func (l *failingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, errors.New("listener broken")
	}
	return c, nil
}

func TestVersionAndGroupRouting(t *testing.T) {
	reg := registry.NewMemory()
	for _, p := range []struct{ name, version, group string }{
		{"v1-blue", "1", "blue"}, {"v2-blue", "2", "blue"}, {"v1-green", "1", "green"},
	} {
		startProvider(t, reg, "", p.name, longlink.ProviderOptions{Version: p.version, Group: p.group})
	}
	tests := []struct {
		version, group string
		want           map[string]bool
	}{
		{"1", "blue", map[string]bool{"v1-blue": true}},
		{"2", "blue", map[string]bool{"v2-blue": true}},
		{"1", "*", map[string]bool{"v1-blue": true, "v1-green": true}},
		{"*", "blue", map[string]bool{"v1-blue": true, "v2-blue": true}},
	}
	for _, tc := range tests {
		c := newClient(t, reg, "Echo", longlink.ClientOptions{Version: tc.version, Group: tc.group, Balancer: longlink.RoundRobin})
		waitReady(t, c, len(tc.want))
		got := map[string]bool{}
		for i := range 30 {
			m, err := call(t, c, "Echo", i)
			if err != nil {
				t.Fatal(err)
			}
			got[m.From] = true
		}
		if len(got) != len(tc.want) {
			t.Fatalf("version %q group %q reached %v, want %v", tc.version, tc.group, got, tc.want)
		}
		for name := range got {
			if !tc.want[name] {
				t.Fatalf("version %q group %q reached %s", tc.version, tc.group, name)
			}
		}
	}
	c := newClient(t, reg, "Echo", longlink.ClientOptions{Version: "3", Group: "blue", Timeout: time.Second})
	_, err := call(t, c, "Echo", 1)
	var np *longlink.NoProviderError
	if !errors.As(err, &np) || np.Service != "Echo" || np.Version != "3" || np.Group != "blue" {
		t.Fatalf("no match: %v; want a *NoProviderError naming Echo, 3, blue", err)
	}
	for _, s := range []string{`"Echo"`, `"3"`, `"blue"`} {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("%q does not name %s", err, s)
		}
	}
}

// A new provider's weight ramps up over its announced warm-up period, and
// so does its share of the calls.
func TestWarmup(t *testing.T) {
	const warmup = 3 * time.Second
	reg := registry.NewMemory()
	startProvider(t, reg, "", "old1", longlink.ProviderOptions{})
	startProvider(t, reg, "", "old2", longlink.ProviderOptions{})
	c := newClient(t, reg, "Echo", longlink.ClientOptions{Balancer: longlink.RoundRobin})
	waitFor(t, "the old providers", func() bool { return len(c.Stats().Providers) == 2 })
	_, _, addr := startProvider(t, reg, "", "new", longlink.ProviderOptions{Warmup: warmup})
	waitFor(t, "the new provider", func() bool { return len(c.Stats().Providers) == 3 })

	var shares, weights []float64
	for window := 0; window < 3; window++ {
		end := time.Now().Add(warmup / 4)
		total, fresh := 0, 0
		for time.Now().Before(end) {
			m, err := call(t, c, "Echo", total)
			if err != nil {
				t.Fatal(err)
			}
			total++
			if m.From == "new" {
				fresh++
			}
		}
		shares = append(shares, float64(fresh)/float64(total))
		weights = append(weights, float64(providerStats(c, addr).Weight))
	}
	t.Logf("new provider's share per quarter of its warm-up: %.3f; weight %v", shares, weights)
	for i := 1; i < len(shares); i++ {
		if shares[i] <= shares[i-1] || weights[i] <= weights[i-1] {
			t.Fatalf("share %v and weight %v do not grow during warm-up", shares, weights)
		}
	}
	if shares[0] >= 1.0/3 {
		t.Fatalf("a cold provider took %.2f of the calls at once", shares[0])
	}
	waitFor(t, "the warm-up to end", func() bool { return providerStats(c, addr).Weight == registry.DefaultWeight })
}

// Acceptance of the provider lifecycle: three providers registered in a real
// Consul agent, under concurrent load, restarted one by one with the
// leaving order (deregister, closing, drain, close): no call fails, and
// every restarted provider is back in rotation.
func TestRollingRestartWithConsul(t *testing.T) {
	agent := consultest.Start(t)
	consul := func(t *testing.T) *registry.Consul {
		reg, err := registry.NewConsul(registry.ConsulOptions{
			Config: &api.Config{Address: agent.Addr()}, TTL: 2 * time.Second, Logger: quiet,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reg.Close() })
		return reg
	}
	providerReg, consumerReg := consul(t), consul(t)

	type running struct {
		p    *longlink.Provider
		svc  *EchoSvc
		addr string
	}
	var ps []running
	for i := range 3 {
		p, svc, addr := startProvider(t, providerReg, "", "p"+strconv.Itoa(i), longlink.ProviderOptions{})
		ps = append(ps, running{p, svc, addr})
	}
	c := newClient(t, consumerReg, "Echo", longlink.ClientOptions{})
	waitFor(t, "three providers in rotation", func() bool {
		n := 0
		for _, p := range c.Stats().Providers {
			if p.State == pool.Ready {
				n++
			}
		}
		return n == 3
	})
	for _, r := range ps {
		r.svc.delayNS.Store(int64(time.Millisecond))
	}
	l := startLoad(c, 16, "Echo")
	l.atLeast(t, 300)
	for i, r := range ps {
		ctx, cancel := context.WithTimeout(context.Background(), longWait)
		if err := r.p.Stop(ctx); err != nil {
			t.Fatalf("stopping p%d: %v", i, err)
		}
		cancel()
		_, svc, _ := startProvider(t, providerReg, r.addr, "p"+strconv.Itoa(i), longlink.ProviderOptions{})
		svc.delayNS.Store(int64(time.Millisecond))
		waitFor(t, "the restarted provider back in rotation", func() bool { return svc.calls.Load() >= 50 })
		t.Logf("p%d restarted and serving again after %d calls in total", i, l.ok.Load())
	}
	l.atLeast(t, 300)
	l.finish(t)
}
