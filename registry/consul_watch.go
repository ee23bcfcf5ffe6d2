package registry

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hashicorp/consul/api"
)

// Watch implements Registry. It makes the first query at once, within ctx:
// if Consul refuses the ACL token it returns ErrAccessDenied; if Consul does
// not answer it logs that and returns the Watcher anyway, whose first Next
// then waits until Consul answers. Later the Watcher lives until it is closed
// (or the registry is).
func (c *Consul) Watch(ctx context.Context, service string) (Watcher, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	w := &consulWatch{c: c, service: service, feed: newFeed(), log: c.log.With("service", service)}
	entries, meta, err := w.query(ctx, 0)
	switch {
	case err == nil:
		w.publish(entries, meta)
		w.index = nextIndex(0, meta.LastIndex)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	default:
		werr := c.opError("watch "+service, err)
		if errors.Is(werr, ErrAccessDenied) {
			return nil, werr
		}
		w.log.Warn("registry: consul does not answer; the watch keeps trying", "err", werr)
		w.failures = 1
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var fw *feedWatcher
	fw = newFeedWatcher(w.feed, func() {
		cancel()
		<-done
		c.untrack(fw, nil)
	})
	if err := c.track(fw, nil); err != nil {
		cancel()
		return nil, err
	}
	go func() {
		defer close(done)
		w.run(loopCtx)
	}()
	return fw, nil
}

// consulWatch is the state of one watch loop. Its fields belong to the loop's
// goroutine (and to Watch before it starts the loop).
type consulWatch struct {
	c       *Consul
	service string
	feed    *feed
	log     *slog.Logger

	index    uint64 // WaitIndex of the next query; 0 means a non-blocking read
	failures int    // consecutive failed queries
	filtered bool   // the last answer was filtered by ACLs (warned once)
}

// run queries Consul until ctx ends: blocking queries while it answers,
// at least MinWatchInterval apart; capped jittered backoff while it does not.
// Failures never touch the feed, so watchers keep the last snapshot.
func (w *consulWatch) run(ctx context.Context) {
	o := w.c.opts
	if w.failures > 0 && !sleepCtx(ctx, backoffDelay(o.ErrorBackoff, o.MaxErrorBackoff, w.failures)) {
		return
	}
	var lastStart time.Time
	for {
		if !sleepCtx(ctx, o.MinWatchInterval-time.Since(lastStart)) {
			return
		}
		lastStart = time.Now()
		entries, meta, err := w.query(ctx, w.index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.failures++
			// After a failure, read afresh: the agent may have restarted
			// with a lower index, and a blocking query at the old one would
			// wait out WaitTime before seeing the new state.
			w.index = 0
			if w.failures == 1 {
				w.log.Warn("registry: consul watch failed; keeping the last instances and retrying with backoff", "err", w.c.opError("watch "+w.service, err))
			} else {
				w.log.Debug("registry: consul watch failed again", "failures", w.failures, "err", err)
			}
			if !sleepCtx(ctx, backoffDelay(o.ErrorBackoff, o.MaxErrorBackoff, w.failures)) {
				return
			}
			continue
		}
		if w.failures > 0 {
			w.log.Info("registry: consul answers again", "failed_requests", w.failures)
			w.failures = 0
		}
		w.index = nextIndex(w.index, meta.LastIndex)
		w.publish(entries, meta)
	}
}

// nextIndex applies Consul's rules for the index of the next blocking query:
// an index that went backwards (a restored or restarted server) resets to 0,
// a fresh read; an index of 0 is never blocked on, so it becomes 1 to avoid
// spinning.
func nextIndex(prev, got uint64) uint64 {
	switch {
	case got < prev:
		return 0
	case got == 0:
		return 1
	default:
		return got
	}
}

// query runs one health query for the passing instances, blocking at index
// (when non-zero) for up to WaitTime.
func (w *consulWatch) query(ctx context.Context, index uint64) ([]*api.ServiceEntry, *api.QueryMeta, error) {
	o := w.c.opts
	timeout := o.RequestTimeout
	if index > 0 {
		timeout += o.WaitTime + o.WaitTime/16
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	q := &api.QueryOptions{WaitIndex: index, WaitTime: o.WaitTime}
	return w.c.client.Health().Service(w.service, "", true, q.WithContext(ctx))
}

// publish converts the entries and hands them to the feed, which wakes the
// watchers only if the set changed. It warns once when Consul says that ACLs
// hid some of the instances (a token without service:read sees an empty set).
func (w *consulWatch) publish(entries []*api.ServiceEntry, meta *api.QueryMeta) {
	if meta.ResultsFilteredByACLs && !w.filtered {
		w.log.Warn("registry: consul hid instances of the service from this ACL token (it needs service:read and node:read)")
	}
	w.filtered = meta.ResultsFilteredByACLs
	insts := make([]Instance, 0, len(entries))
	for _, e := range entries {
		if e == nil || e.Service == nil {
			continue
		}
		insts = append(insts, instanceFromEntry(e))
	}
	if w.feed.publish(insts) {
		w.log.Debug("registry: instances changed", "count", len(insts))
	}
}
