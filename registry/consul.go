package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
)

// ConsulOptions configure a Consul registry. Every field's zero value means
// its default, so ConsulOptions{} is ready to use.
type ConsulOptions struct {
	// Config is the Consul API client configuration. Nil means
	// api.DefaultConfig(), which reads CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN,
	// CONSUL_HTTP_SSL and Consul's other environment variables (address
	// default "127.0.0.1:8500"). NewConsul works on a copy and never modifies
	// the caller's value. When Config.HttpClient is nil, the registry owns
	// the HTTP client it creates and Close closes its idle connections.
	Config *api.Config

	// TTL is the time to live of each registration's TTL check: Consul marks
	// the instance critical when the check is not refreshed for this long.
	// The registration's goroutine refreshes it every TTL/3. Default 10 s.
	TTL time.Duration

	// TCPCheck adds a TCP check, run by the Consul agent, of each
	// registered instance's address, besides the TTL check. Default false.
	TCPCheck bool
	// TCPCheckInterval is the period of that TCP check; its timeout is the
	// smaller of the interval and 5 s. Default 10 s.
	TCPCheckInterval time.Duration

	// DeregisterCriticalServiceAfter makes Consul remove an instance whose
	// checks have been critical for this long, so that a provider that died
	// without deregistering does not linger. Consul enforces a minimum of
	// one minute and reaps every 30 s. Default 1 min; negative disables it.
	DeregisterCriticalServiceAfter time.Duration

	// WaitTime is how long one blocking query of a watch may wait for a
	// change (Consul caps it at 10 min and adds up to WaitTime/16). It also
	// bounds how long a silently dead connection to the agent can go
	// unnoticed. Default 1 min.
	WaitTime time.Duration
	// MinWatchInterval is the minimum time between the starts of two
	// requests of one watch, a rate limit for services that change often.
	// Default 100 ms.
	MinWatchInterval time.Duration
	// ErrorBackoff and MaxErrorBackoff shape the pause of a watch after a
	// failed request: ErrorBackoff doubled per consecutive failure, capped at
	// MaxErrorBackoff, with equal jitter (a random point between half and all
	// of it). Defaults 500 ms and 30 s.
	ErrorBackoff    time.Duration
	MaxErrorBackoff time.Duration

	// RequestTimeout bounds every request other than a blocking query
	// (register, deregister, TTL update, start-up check); a blocking query is
	// bounded by WaitTime + WaitTime/16 + RequestTimeout. Default 10 s.
	RequestTimeout time.Duration

	// SkipStartupCheck makes NewConsul skip its check that the agent is
	// reachable, the cluster has a leader and the ACL token is known.
	// Default false: NewConsul checks, within RequestTimeout.
	SkipStartupCheck bool

	// Logger receives the registry's logs: outages and recoveries at Warn
	// and Info, each failed attempt during an outage at Debug. Nil means
	// slog.Default(); use slog.New(slog.DiscardHandler) for silence.
	Logger *slog.Logger
}

func (o ConsulOptions) withDefaults() ConsulOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.TTL, 10*time.Second)
	def(&o.TCPCheckInterval, 10*time.Second)
	def(&o.DeregisterCriticalServiceAfter, time.Minute)
	def(&o.WaitTime, time.Minute)
	def(&o.MinWatchInterval, 100*time.Millisecond)
	def(&o.ErrorBackoff, 500*time.Millisecond)
	def(&o.MaxErrorBackoff, 30*time.Second)
	def(&o.RequestTimeout, 10*time.Second)
	if o.MaxErrorBackoff < o.ErrorBackoff {
		o.MaxErrorBackoff = o.ErrorBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Consul is a Registry backed by HashiCorp Consul, through the local agent's
// HTTP API.
//
// Register registers the instance with the agent together with a TTL check
// (and optionally a TCP check) and starts a goroutine, owned by the
// Registration, that refreshes the TTL check every TTL/3: passing while
// RegisterOptions.Health returns nil, critical with the error's text
// otherwise. If the agent has forgotten the registration (it was restarted
// without its data), the goroutine registers the instance again. The typed
// Instance fields travel in the service meta under the Meta* keys (which are
// therefore reserved), the weight also as Consul's passing weight.
//
// Watch follows the passing instances of a service with blocking queries on
// the health endpoint. Snapshots are delivered only when their content
// changes. While Consul cannot be reached the last snapshot stays in place
// and the watch retries with capped, jittered exponential backoff; after a
// failure the next query is a fresh (non-blocking) read, so that an agent
// that came back with a lower index is read at once. An agent that lost its
// state (a -dev agent, or one restarted without its data directory) answers
// with an empty set until the providers' registrations, at their next
// refresh, register again: Watch reports that truthfully.
//
// A Consul is safe for concurrent use. Close it when done.
type Consul struct {
	client *api.Client
	opts   ConsulOptions // defaults filled in; read-only
	log    *slog.Logger
	addr   string       // the agent's address, for error messages
	token  string       // the configured ACL token, "" for none
	owned  *http.Client // the HTTP client NewConsul created, nil if the caller's

	mu sync.Mutex
	// closed is set by Close. Guarded by mu.
	closed bool
	// watchers and regs are the open Watchers and the Registrations not yet
	// deregistered, which Close ends. Guarded by mu.
	watchers map[*feedWatcher]struct{}
	regs     map[*consulRegistration]struct{}
}

// NewConsul returns a Consul registry. Unless opts.SkipStartupCheck is set,
// it first checks, within opts.RequestTimeout, that the agent answers
// (ErrUnreachable otherwise), that the cluster has a leader (ErrUnreachable)
// and that the ACL token, if ACLs are enabled, is one Consul knows
// (ErrAccessDenied).
func NewConsul(opts ConsulOptions) (*Consul, error) {
	opts = opts.withDefaults()
	var cfg api.Config
	if opts.Config != nil {
		cfg = *opts.Config
	} else {
		cfg = *api.DefaultConfig()
	}
	ownsHTTP := cfg.HttpClient == nil
	client, err := api.NewClient(&cfg)
	if err != nil {
		return nil, fmt.Errorf("registry: consul client: %w", err)
	}
	c := &Consul{
		client:   client,
		opts:     opts,
		log:      opts.Logger.With("registry", "consul", "agent", cfg.Address),
		addr:     cfg.Address,
		token:    cfg.Token,
		watchers: make(map[*feedWatcher]struct{}),
		regs:     make(map[*consulRegistration]struct{}),
	}
	if ownsHTTP {
		c.owned = cfg.HttpClient
	}
	if !opts.SkipStartupCheck {
		ctx, cancel := context.WithTimeout(context.Background(), opts.RequestTimeout)
		defer cancel()
		if err := c.startupCheck(ctx); err != nil {
			c.closeIdle()
			return nil, err
		}
	}
	return c, nil
}

// startupCheck: the agent answers, there is a leader, the token is known.
func (c *Consul) startupCheck(ctx context.Context) error {
	q := (&api.QueryOptions{}).WithContext(ctx)
	for {
		leader, err := c.client.Status().LeaderWithQueryOptions(q)
		if err != nil {
			return c.opError("the start-up check (leader)", err)
		}
		if leader != "" {
			break
		}
		// A cluster electing its leader answers within seconds; keep asking
		// until ctx ends.
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return fmt.Errorf("%w: consul at %s: the start-up check: the cluster has no leader", ErrUnreachable, c.addr)
		}
	}
	if c.token == "" {
		// The anonymous token (or the agent's default one) always exists.
		return nil
	}
	_, _, err := c.client.ACL().TokenReadSelf(q)
	var se api.StatusError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && se.Code == http.StatusForbidden && strings.Contains(se.Body, "ACL not found"):
		return c.opError("the start-up check (ACL token)", err)
	case errors.As(err, &se):
		// ACLs disabled (401), or a valid token without acl:read: the token
		// is known, which is all this check is about.
		return nil
	default:
		return c.opError("the start-up check (ACL token)", err)
	}
}

// opError wraps an error of a Consul request with the operation and the
// agent's address, classed as ErrAccessDenied (HTTP 401/403 from Consul) or
// ErrUnreachable (no HTTP answer, or no cluster leader) where it is one. The
// original error stays reachable with errors.As (api.StatusError, *url.Error).
func (c *Consul) opError(op string, err error) error {
	var se api.StatusError
	switch {
	case errors.As(err, &se) && (se.Code == http.StatusForbidden || se.Code == http.StatusUnauthorized):
		return fmt.Errorf("%w: consul at %s refused %s; check the ACL token and its permissions: %w", ErrAccessDenied, c.addr, op, err)
	case errors.As(err, &se) && strings.Contains(se.Body, "No cluster leader"):
		return fmt.Errorf("%w: consul at %s: %s: %w", ErrUnreachable, c.addr, op, err)
	case errors.As(err, &se):
		return fmt.Errorf("registry: consul at %s: %s: %w", c.addr, op, err)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("registry: consul at %s: %s: %w", c.addr, op, err)
	default:
		return fmt.Errorf("%w: consul at %s: %s: %w", ErrUnreachable, c.addr, op, err)
	}
}

// Client returns the Consul API client the registry uses, for what the
// Registry interface does not cover. Do not change its configuration.
func (c *Consul) Client() *api.Client { return c.client }

// track records an open watcher or a live registration; it fails with
// ErrClosed after Close.
func (c *Consul) track(w *feedWatcher, r *consulRegistration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if w != nil {
		c.watchers[w] = struct{}{}
	}
	if r != nil {
		c.regs[r] = struct{}{}
	}
	return nil
}

func (c *Consul) untrack(w *feedWatcher, r *consulRegistration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.watchers, w)
	delete(c.regs, r)
}

func (c *Consul) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close closes every Watcher still open, deregisters every instance still
// registered (each within RequestTimeout), closes the idle connections of the
// HTTP client the registry created, and returns once all the registry's
// goroutines have stopped. Register and Watch then fail with ErrClosed.
// It returns the deregistration errors, if any; calling it again returns nil.
func (c *Consul) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	watchers := make([]*feedWatcher, 0, len(c.watchers))
	for w := range c.watchers {
		watchers = append(watchers, w)
	}
	regs := make([]*consulRegistration, 0, len(c.regs))
	for r := range c.regs {
		regs = append(regs, r)
	}
	c.mu.Unlock()

	for _, w := range watchers {
		w.Close()
	}
	var errs []error
	for _, r := range regs {
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
		errs = append(errs, r.Deregister(ctx))
		cancel()
	}
	c.closeIdle()
	return errors.Join(errs...)
}

func (c *Consul) closeIdle() {
	if c.owned != nil {
		c.owned.CloseIdleConnections()
	}
}

var _ Registry = (*Consul)(nil)
