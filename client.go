package longlink

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/longlink/longlink/registry"
)

// Client calls the methods of one service on whichever of its providers the
// registry reports healthy. It is safe for concurrent use.
//
// It runs one goroutine, which follows the registry; connections belong to
// the pool.Manager. Close stops it and gives the connections back.
type Client struct {
	service string
	opts    ClientOptions
	log     *slog.Logger
	watcher registry.Watcher
	ctx     context.Context // ended by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the watch goroutine and releases of departed providers

	set    atomic.Pointer[endpointSet] // current providers; nil until the first snapshot
	ready  chan struct{}               // closed when the first snapshot is applied
	sticky atomic.Pointer[stickyChoice]
	rrNext atomic.Uint64 // round robin over equal weights
	rrMu   sync.Mutex    // guards endpoint.rrCurrent (smooth weighted round robin)

	mu     sync.Mutex
	byAddr map[string]*endpoint // guarded by mu: the providers, by address
	closed bool                 // guarded by mu
}

// NewClient starts following service in reg and returns a client for it.
// It does not wait for the registry: the first call does, within its
// deadline.
func NewClient(reg registry.Registry, service string, opts ClientOptions) (*Client, error) {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := reg.Watch(ctx, service)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("longlink: watching %q: %w", service, err)
	}
	c := &Client{
		service: service,
		opts:    opts,
		log:     opts.Logger.With("service", service),
		watcher: w,
		ctx:     ctx,
		cancel:  cancel,
		ready:   make(chan struct{}),
		byAddr:  make(map[string]*endpoint),
	}
	c.wg.Add(1)
	go c.watch()
	return c, nil
}

// Service returns the name of the service the client calls.
func (c *Client) Service() string { return c.service }

// Call calls method on a provider of the service with req and decodes the
// result into resp (a pointer, or nil). Without a deadline in ctx it is
// bounded by ClientOptions.Timeout. Errors: *rpc.RemoteError for the
// provider's answer (application errors are never retried), *rpc.ConnError
// and pool errors for transport failures left after retries, the context's
// error, or a *NoProviderError.
func (c *Client) Call(ctx context.Context, method string, req, resp any) error {
	if rec := c.opts.Metrics; rec != nil {
		return c.observe(ctx, rec, method, req, resp)
	}
	return c.call0(ctx, method, req, resp)
}

// call0 is Call without metrics: the timeout, then the interceptors around
// the call.
func (c *Client) call0(ctx context.Context, method string, req, resp any) error {
	info := &CallInfo{Service: c.service, Method: method}
	if _, ok := ctx.Deadline(); !ok && c.opts.Timeout > 0 {
		if len(c.opts.Interceptors) == 0 && c.set.Load() != nil {
			// The common case: no context per call; see CallInfo.deadline.
			info.deadline = time.Now().Add(c.opts.Timeout)
		} else {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
			defer cancel()
		}
	}
	if len(c.opts.Interceptors) == 0 {
		return c.call(ctx, info, req, resp)
	}
	return c.intercept(ctx, info, req, resp)
}

// call routes one call: it waits for the provider list and runs the cluster
// policy.
func (c *Client) call(ctx context.Context, info *CallInfo, req, resp any) error {
	set, err := c.providers(ctx)
	if err != nil {
		return err
	}
	return c.invoke(ctx, set, info, req, resp)
}

// providers returns the current providers, waiting for the registry's first
// answer if need be.
func (c *Client) providers(ctx context.Context) (*endpointSet, error) {
	if c.ctx.Err() != nil {
		return nil, fmt.Errorf("%w: client for %q", ErrClosed, c.service)
	}
	if set := c.set.Load(); set != nil {
		return set, nil
	}
	select {
	case <-c.ready:
		return c.set.Load(), nil
	case <-c.ctx.Done():
		return nil, fmt.Errorf("%w: client for %q", ErrClosed, c.service)
	case <-ctx.Done():
		return nil, fmt.Errorf("longlink: waiting for the registry to list %q: %w", c.service, ctx.Err())
	}
}

// Close stops following the registry and gives back the client's
// connections: a pool no other client uses drains its in-flight calls and
// closes. Calls after Close fail with ErrClosed. Close returns when the
// client's goroutines have stopped.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.wg.Wait()
		return nil
	}
	c.closed = true
	eps := make([]*endpoint, 0, len(c.byAddr))
	for _, ep := range c.byAddr {
		eps = append(eps, ep)
	}
	c.byAddr = nil
	c.set.Store(&endpointSet{})
	c.mu.Unlock()
	c.cancel()
	err := c.watcher.Close()
	for _, ep := range eps {
		ep.removed.Store(true)
		c.wg.Go(ep.release)
	}
	c.wg.Wait()
	return err
}
