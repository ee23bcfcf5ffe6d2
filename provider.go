package longlink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

// MetaWarmup is the instance metadata key under which a provider announces
// its warm-up period (a time.Duration string).
const MetaWarmup = "warmup"

// ProviderOptions describe how a provider announces itself. The zero value
// is ready to use.
type ProviderOptions struct {
	// Services to announce. Default: every service registered on the server.
	Services []string
	// Advertise is the "host:port" consumers dial. Default: the listener's
	// address, with an unspecified IP (0.0.0.0, ::) replaced by the first
	// non-loopback IPv4 address of the machine, else 127.0.0.1.
	Advertise string
	// Weight is the routing weight announced. Default registry.DefaultWeight (100).
	Weight int
	// Version and Group, matched exactly by consumers that ask for them
	// (Dubbo "version" and "group"). Default: none.
	Version, Group string
	// Warmup is announced to consumers, which ramp this provider's weight up
	// linearly over it from the moment it started serving, so that a cold
	// provider is not flooded. Default 0: no warm-up (Dubbo's default is
	// 10 min).
	Warmup time.Duration
	// Tags and Meta are announced unchanged.
	Tags []string
	Meta map[string]string
	// Logger receives the lifecycle: serving, registered, leaving. Default
	// slog.Default().
	Logger *slog.Logger
}

// Provider runs one rpc.Server as a registered provider: it serves, is
// registered while it serves, and leaves without losing a call.
type Provider struct {
	srv     *rpc.Server
	log     *slog.Logger
	serving atomic.Bool // the accept loop runs and Stop has not begun
	served  chan error  // Serve's result
	regs    []registry.Registration
	stop    sync.Once
	stopErr error
}

// StartProvider serves srv on ln and then registers one instance per
// service in reg. The registry's health check (Consul's TTL check) passes
// only while the server's accept loop runs and the provider is not leaving.
// If a registration fails, the provider stops and the error is returned.
func StartProvider(ctx context.Context, srv *rpc.Server, ln net.Listener, reg registry.Registry, opts ProviderOptions) (*Provider, error) {
	host, port, err := advertised(opts.Advertise, ln.Addr())
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	services := opts.Services
	if len(services) == 0 {
		services = srv.Services()
	}
	if len(services) == 0 {
		_ = ln.Close()
		return nil, errors.New("longlink: StartProvider: the server has no services")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	p := &Provider{srv: srv, log: log.With("addr", net.JoinHostPort(host, strconv.Itoa(port))), served: make(chan error, 1)}
	p.serving.Store(true)
	go func() {
		err := srv.Serve(ln)
		p.serving.Store(false)
		p.served <- err
	}()
	meta := make(map[string]string, len(opts.Meta)+1)
	for k, v := range opts.Meta {
		meta[k] = v
	}
	if opts.Warmup > 0 {
		meta[MetaWarmup] = opts.Warmup.String()
	}
	started := time.Now()
	for _, service := range services {
		inst := registry.Instance{
			Service: service, Host: host, Port: port, Tags: opts.Tags, Meta: meta,
			Weight: opts.Weight, Version: opts.Version, Group: opts.Group, StartedAt: started,
		}
		r, err := reg.Register(ctx, inst, registry.RegisterOptions{Health: p.health})
		if err != nil {
			p.Stop(context.Background())
			return nil, fmt.Errorf("longlink: registering %q: %w", service, err)
		}
		p.regs = append(p.regs, r)
	}
	p.log.Info("longlink: provider serving and registered", "services", services)
	return p, nil
}

// health is the registry's view of the provider: serving, or why not.
func (p *Provider) health() error {
	if !p.serving.Load() {
		return errors.New("not serving")
	}
	return nil
}

// Stop leaves in the order that loses no call: deregister every instance
// (new consumers stop finding it); announce closing on every connection
// (consumers stop sending new calls at once, in-flight calls continue);
// wait until consumers have their replies and hang up, for at most as long
// as ctx allows; close. It returns the first error met; calling it again
// returns the same.
func (p *Provider) Stop(ctx context.Context) error {
	p.stop.Do(func() {
		p.serving.Store(false)
		var errs []error
		for _, r := range p.regs {
			if err := r.Deregister(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		p.log.Info("longlink: provider deregistered; draining")
		if err := p.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("longlink: draining: %w", err))
		}
		if err := <-p.served; err != nil && !errors.Is(err, rpc.ErrServerClosed) {
			errs = append(errs, err)
		}
		p.stopErr = errors.Join(errs...)
		p.log.Info("longlink: provider stopped", "err", p.stopErr)
	})
	return p.stopErr
}

// advertised works out the address consumers should dial.
func advertised(explicit string, listen net.Addr) (string, int, error) {
	addr := explicit
	if addr == "" {
		addr = listen.String()
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("longlink: advertised address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("longlink: advertised address %q: bad port", addr)
	}
	if ip := net.ParseIP(host); explicit == "" && (host == "" || ip != nil && ip.IsUnspecified()) {
		host = outboundIPv4()
	}
	return host, port, nil
}

// outboundIPv4 returns the first non-loopback IPv4 address, or 127.0.0.1.
func outboundIPv4() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}
