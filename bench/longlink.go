package main

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/internal/benchmsg"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

// Echo is the longlink echo service: each method returns its argument.
type Echo struct{}

func (Echo) Message(_ context.Context, m *benchmsg.Message) (*benchmsg.Message, error) { return m, nil }
func (Echo) Tiny(_ context.Context, m *benchmsg.Tiny) (*benchmsg.Tiny, error)          { return m, nil }

// provider is a longlink rpc.Server serving Echo on a listener.
type provider struct {
	srv  *rpc.Server
	addr string
	done chan struct{} // closed when Serve has returned
}

// startProvider serves Echo on ln (a loopback listener if ln is nil).
func startProvider(ln net.Listener, opts rpc.ServerOptions) (*provider, error) {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	opts.Logger = quiet
	srv := rpc.NewServer(opts)
	if err := srv.Register(Echo{}); err != nil {
		ln.Close()
		return nil, err
	}
	p := &provider{srv: srv, addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		_ = srv.Serve(ln)
	}()
	return p, nil
}

func (p *provider) close() {
	_ = p.srv.Close()
	<-p.done
}

// longlinkSystem calls a provider through the public consumer API: a
// longlink.Client over a static registry and a pool.Manager of its own.
type longlinkSystem struct {
	prov   *provider
	mgr    *pool.Manager
	client *longlink.Client
}

// longlinkSpec measures longlink with the given Connections setting: 0 is
// one connection shared by the process, N > 0 is N connections rotated.
func longlinkSpec(name string, connections int) systemSpec {
	label := "longlink.Client, one shared connection (Connections: 0)"
	if connections > 0 {
		label = "longlink.Client, Connections: " + strconv.Itoa(connections)
	}
	return systemSpec{name: name, label: label, start: func() (system, error) {
		return startLonglink(connections, pool.Options{})
	}}
}

func startLonglink(connections int, popts pool.Options) (*longlinkSystem, error) {
	prov, err := startProvider(nil, rpc.ServerOptions{})
	if err != nil {
		return nil, err
	}
	copts := longlink.ClientOptions{Connections: connections, Timeout: 30 * time.Second}
	client, mgr, err := newLonglinkClient(prov.addr, copts, popts)
	if err != nil {
		prov.close()
		return nil, err
	}
	return &longlinkSystem{prov: prov, mgr: mgr, client: client}, nil
}

// newLonglinkClient returns a client of the Echo service at addr, with a
// pool.Manager of its own built from popts. Loggers are silenced.
func newLonglinkClient(addr string, copts longlink.ClientOptions, popts pool.Options) (*longlink.Client, *pool.Manager, error) {
	reg, err := registry.NewStatic(map[string][]string{"Echo": {addr}})
	if err != nil {
		return nil, nil, err
	}
	popts.Logger = quiet
	popts.Conn.Logger = quiet
	mgr := pool.NewManager(popts)
	copts.Pool, copts.Logger = mgr, quiet
	client, err := longlink.NewClient(reg, "Echo", copts)
	if err != nil {
		mgr.Close()
		return nil, nil, err
	}
	return client, mgr, nil
}

func (s *longlinkSystem) caller(ctx context.Context, msg string) (func() error, error) {
	method, req, reply, err := newMessages(msg)
	if err != nil {
		return nil, err
	}
	return func() error { return s.client.Call(ctx, method, req, reply) }, nil
}

func (s *longlinkSystem) close() {
	_ = s.client.Close()
	s.mgr.Close()
	s.prov.close()
}
