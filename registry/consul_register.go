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

// Register implements Registry. It calls opts.Health once, registers inst
// with the local agent, its TTL check passing or critical accordingly (see
// Consul), and returns once the agent has accepted it; a refused ACL token
// gives ErrAccessDenied, an agent that does not answer ErrUnreachable. The
// instance ID must not contain '/', '?', '#' or '%' (it becomes part of
// request paths).
func (c *Consul) Register(ctx context.Context, inst Instance, opts RegisterOptions) (Registration, error) {
	n, err := inst.normalize()
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(n.ID, "/?#%") {
		return nil, fmt.Errorf("%w: instance ID %q: '/', '?', '#' and '%%' are not allowed with Consul", ErrInvalidInstance, n.ID)
	}
	if c.isClosed() {
		return nil, ErrClosed
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	r := &consulRegistration{
		c:       c,
		inst:    n,
		health:  opts.Health,
		checkID: "service:" + n.ID + ":ttl",
		log:     c.log.With("service", n.Service, "id", n.ID),
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	status, output := r.evalHealth()
	if err := r.register(ctx, status, output); err != nil {
		cancel()
		return nil, c.opError("register "+n.ID, err)
	}
	if err := c.track(nil, r); err != nil {
		// Closed meanwhile: take the registration back.
		cancel()
		close(r.done)
		_ = r.Deregister(ctx)
		return nil, err
	}
	go r.refreshLoop(loopCtx)
	return r, nil
}

// consulRegistration is a Registration of a Consul registry.
type consulRegistration struct {
	c       *Consul
	inst    Instance     // normalized; never modified
	health  func() error // nil: always passing
	checkID string       // ID of the TTL check
	log     *slog.Logger

	stopOnce sync.Once
	cancel   context.CancelFunc // stops refreshLoop
	done     chan struct{}      // closed when refreshLoop has returned

	// mu serialises Deregister calls.
	mu sync.Mutex
	// deregistered is set once the agent has withdrawn the instance.
	// Guarded by mu.
	deregistered bool
}

func (r *consulRegistration) Instance() Instance { return r.inst.clone() }

// evalHealth calls the Health function and returns the TTL check status and
// output it stands for.
func (r *consulRegistration) evalHealth() (status, output string) {
	if r.health == nil {
		return api.HealthPassing, "serving"
	}
	if err := r.health(); err != nil {
		return api.HealthCritical, err.Error()
	}
	return api.HealthPassing, "serving"
}

// register (re-)registers the instance and its checks with the agent, the
// TTL check starting in the given state.
func (r *consulRegistration) register(ctx context.Context, status, output string) error {
	reg := agentRegistration(r.inst, r.checkID, r.c.opts, status, output)
	ctx, cancel := context.WithTimeout(ctx, r.c.opts.RequestTimeout)
	defer cancel()
	return r.c.client.Agent().ServiceRegisterOpts(reg, api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx))
}

// agentRegistration describes inst (normalized) to the agent: the service,
// its meta and weights, its TTL check (ttlCheckID, starting in the given
// state) and, if configured, its TCP check.
func agentRegistration(inst Instance, ttlCheckID string, o ConsulOptions, status, output string) *api.AgentServiceRegistration {
	ttl := &api.AgentServiceCheck{
		CheckID: ttlCheckID,
		Name:    "longlink TTL",
		TTL:     o.TTL.String(),
		Status:  status,
		Notes:   "refreshed by the longlink provider every TTL/3; output: " + output,
	}
	checks := api.AgentServiceChecks{ttl}
	if o.TCPCheck {
		checks = append(checks, &api.AgentServiceCheck{
			CheckID:  "service:" + inst.ID + ":tcp",
			Name:     "longlink TCP",
			TCP:      inst.Addr(),
			Interval: o.TCPCheckInterval.String(),
			Timeout:  min(o.TCPCheckInterval, 5*time.Second).String(),
		})
	}
	if o.DeregisterCriticalServiceAfter > 0 {
		for _, ch := range checks {
			ch.DeregisterCriticalServiceAfter = o.DeregisterCriticalServiceAfter.String()
		}
	}
	return &api.AgentServiceRegistration{
		ID:      inst.ID,
		Name:    inst.Service,
		Tags:    inst.Tags,
		Address: inst.Host,
		Port:    inst.Port,
		Meta:    consulMeta(inst),
		Weights: &api.AgentWeights{Passing: inst.Weight, Warning: 1},
		Checks:  checks,
	}
}

// refreshLoop keeps the TTL check fresh until ctx ends. Owned by r:
// Deregister (or stopRefresh) cancels ctx and waits for it.
func (r *consulRegistration) refreshLoop(ctx context.Context) {
	defer close(r.done)
	every := r.c.opts.TTL / 3
	t := time.NewTimer(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := r.refresh(ctx, every)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			r.log.Warn("registry: cannot refresh the TTL check; retrying every TTL/3", "err", err)
			failing = true
		case err != nil:
			r.log.Debug("registry: TTL refresh failed again", "err", err)
		case failing:
			r.log.Info("registry: TTL check refreshed again")
			failing = false
		}
		t.Reset(every)
	}
}

// refresh passes or fails the TTL check once, after calling Health. If the
// agent no longer knows the check (it restarted and lost its state), it
// registers the instance again.
func (r *consulRegistration) refresh(ctx context.Context, timeout time.Duration) error {
	status, output := r.evalHealth()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := r.c.client.Agent().UpdateTTLOpts(r.checkID, output, status, (&api.QueryOptions{}).WithContext(rctx))
	if err == nil || !isUnknownCheck(err) {
		return err
	}
	r.log.Info("registry: the agent does not know the instance (restarted?); registering it again")
	if err := r.register(ctx, status, output); err != nil {
		return r.c.opError("register "+r.inst.ID+" again", err)
	}
	return nil
}

// isUnknownCheck reports whether err is the agent's answer to an update of a
// check it does not have.
func isUnknownCheck(err error) bool {
	var se api.StatusError
	if !errors.As(err, &se) {
		return false
	}
	return se.Code == http.StatusNotFound ||
		strings.Contains(se.Body, "Unknown check") ||
		strings.Contains(se.Body, "does not have associated TTL")
}

// stopRefresh stops refreshLoop and waits for it, leaving the instance
// registered (its TTL check then expires).
func (r *consulRegistration) stopRefresh() {
	r.stopOnce.Do(func() {
		r.cancel()
		<-r.done
	})
}

// Deregister implements Registration: it stops the refresher, then asks the
// agent to withdraw the instance. An instance the agent no longer knows
// counts as withdrawn. If the agent cannot be reached the error is returned
// and a later call tries again; once withdrawn, calls return nil.
func (r *consulRegistration) Deregister(ctx context.Context) error {
	r.stopRefresh()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.deregistered {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.c.opts.RequestTimeout)
	defer cancel()
	err := r.c.client.Agent().ServiceDeregisterOpts(r.inst.ID, (&api.QueryOptions{}).WithContext(ctx))
	var se api.StatusError
	if err != nil && !(errors.As(err, &se) && se.Code == http.StatusNotFound) {
		return r.c.opError("deregister "+r.inst.ID, err)
	}
	r.deregistered = true
	r.c.untrack(nil, r)
	return nil
}
