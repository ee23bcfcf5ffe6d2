package pool

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/puddle/v2"

	"github.com/longlink/longlink/rpc"
)

// maintain is the pool's one goroutine: it keeps size connections leased,
// handles evictions, backs off after failed dials, and on close drains
// everything and closes puddle.
func (p *Pool) maintain() {
	defer close(p.exited)
	var retry <-chan time.Time
	for {
		p.collect()
		p.mu.Lock()
		closed, want, waiting := p.closed, p.size-len(p.leased), !p.retryAt.IsZero()
		p.mu.Unlock()
		if closed {
			p.shutdown()
			return
		}
		if want > 0 && !waiting {
			if delay := p.dial(); delay > 0 {
				retry = time.After(delay)
			}
			continue
		}
		select {
		case <-p.kick:
		case <-p.ctx.Done():
		case <-retry:
			retry = nil
			p.mu.Lock()
			p.retryAt = time.Time{}
			p.signalLocked()
			p.mu.Unlock()
		}
	}
}

// construct is puddle's constructor: dial, then one ping, so that only a
// peer that answers counts as connected.
func (p *Pool) construct(ctx context.Context) (*rpc.Conn, error) {
	opts := p.conn
	c, err := rpc.Dial(ctx, p.addr, opts)
	if err != nil {
		return nil, err
	}
	timeout := opts.DialTimeout
	if timeout <= 0 {
		timeout = rpc.DefaultDialTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := c.Ping(pctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("no answer to the first ping: %w", err)
	}
	return c, nil
}

// dial makes one connection and leases it. After a failure it returns how
// long to wait before the next attempt.
func (p *Pool) dial() time.Duration {
	p.mu.Lock()
	p.counts.dials++
	attempt := p.failures + 1
	p.mu.Unlock()
	p.log.Debug("pool: dialling", "attempt", attempt)
	if err := p.pp.CreateResource(p.ctx); err != nil {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return 0
		}
		p.failures++
		p.counts.failed++
		p.lastErr = err
		failures := p.failures
		delay := p.opts.Backoff.Delay(failures)
		p.retryAt = time.Now().Add(delay)
		p.signalLocked()
		p.mu.Unlock()
		p.log.Warn("pool: dial failed; backing off", "err", err, "failures", failures, "retry_in", delay.Round(time.Millisecond))
		if rec := p.opts.Metrics; rec != nil {
			rec.DialFailed(p.addr)
		}
		return delay
	}
	for _, res := range p.pp.AcquireAllIdle() {
		c := res.Value()
		p.mu.Lock()
		p.leased[c] = res // after close, only for shutdown to close it
		redial := false
		switch {
		case p.closed:
		case c.State() == rpc.StateReady:
			p.addLocked(c)
			if p.lost > 0 { // it replaces an evicted connection
				p.lost--
				p.counts.redials++
				redial = true
			}
		default:
			p.evicted[c] = struct{}{} // it failed between its ping and now
		}
		failed, down := p.failures, p.downSince
		p.failures, p.lastErr, p.retryAt = 0, nil, time.Time{}
		if len(*p.table.Load()) > 0 {
			p.downSince = time.Time{}
		}
		p.signalLocked()
		p.mu.Unlock()
		n := len(*p.table.Load())
		if !redial {
			p.log.Debug("pool: connected", "connections", n, "failed_dials", failed)
			continue
		}
		// Every redial ends an eviction logged at warn, so it is logged at
		// info: a healthy pool never redials.
		attrs := []any{"connections", n, "failed_dials", failed}
		if !down.IsZero() {
			attrs = append(attrs, "down_for", time.Since(down).Round(time.Millisecond))
		}
		p.log.Info("pool: redialled", attrs...)
		if rec := p.opts.Metrics; rec != nil {
			rec.Redialed(p.addr)
		}
	}
	return 0
}

// collect ends the leases of evicted connections with Hijack, which frees
// their puddle slots at once so that replacements can be dialled without
// delay (Destroy would free a slot only after its destructor had run on
// another goroutine). A dead connection is closed here, which joins its
// goroutines; a draining one closes itself when its calls are answered, and
// is closed here then.
func (p *Pool) collect() {
	p.mu.Lock()
	var hijack []*puddle.Resource[*rpc.Conn]
	var finished []*rpc.Conn
	for c := range p.evicted {
		hijack = append(hijack, p.leased[c])
		delete(p.leased, c)
		delete(p.evicted, c)
		p.draining[c] = struct{}{}
	}
	for c := range p.draining {
		if c.State() == rpc.StateClosed {
			delete(p.draining, c)
			finished = append(finished, c)
		}
	}
	p.mu.Unlock()
	for _, res := range hijack {
		res.Hijack()
	}
	for _, c := range finished {
		c.Close()
	}
}

// shutdown drains every connection, waits up to DrainTimeout for their
// in-flight calls, closes them, and closes puddle.
func (p *Pool) shutdown() {
	p.mu.Lock()
	var conns []*rpc.Conn
	var hijack []*puddle.Resource[*rpc.Conn]
	for c, res := range p.leased {
		conns = append(conns, c)
		hijack = append(hijack, res)
	}
	for c := range p.draining {
		conns = append(conns, c)
	}
	clear(p.leased)
	clear(p.evicted)
	clear(p.draining)
	p.mu.Unlock()
	p.log.Debug("pool: closing; draining connections", "connections", len(conns), "timeout", p.opts.DrainTimeout)
	for _, res := range hijack {
		res.Hijack()
	}
	for _, c := range conns {
		c.Drain()
	}
	deadline := time.NewTimer(p.opts.DrainTimeout)
	defer deadline.Stop()
	for _, c := range conns {
		select {
		case <-c.Done():
		case <-deadline.C:
			p.log.Warn("pool: drain timeout; closing connections with calls in flight", "timeout", p.opts.DrainTimeout)
			deadline.Reset(0)
		}
		c.Close()
	}
	p.pp.Close()
}
