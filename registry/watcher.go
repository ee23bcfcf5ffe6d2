package registry

import (
	"context"
	"sync"
)

// feedWatcher is the Watcher of every registry in this package: it delivers
// the snapshots of a feed, each one only when it differs from the one it last
// delivered.
type feedWatcher struct {
	feed *feed
	// stop ends whatever produces the feed for this watcher alone (a Consul
	// watch loop) and returns once it has stopped; nil when there is nothing
	// to stop. Called once, by Close.
	stop func()

	closeOnce sync.Once
	closed    chan struct{} // closed by Close

	// turn is a one-slot semaphore held by the Next call in progress, so that
	// concurrent Next calls take turns and each snapshot is delivered once.
	turn chan struct{}
	// last is the snapshot last delivered, delivered whether there was one.
	// Guarded by holding turn.
	last      []Instance
	delivered bool
}

func newFeedWatcher(f *feed, stop func()) *feedWatcher {
	return &feedWatcher{
		feed:   f,
		stop:   stop,
		closed: make(chan struct{}),
		turn:   make(chan struct{}, 1),
	}
}

// Next implements Watcher. The snapshot it returns is sorted by instance ID
// and belongs to the caller.
func (w *feedWatcher) Next(ctx context.Context) ([]Instance, error) {
	select {
	case w.turn <- struct{}{}:
	case <-w.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-w.turn }()
	for {
		select {
		case <-w.closed:
			return nil, ErrClosed
		default:
		}
		snap, ready, changed := w.feed.current()
		if ready && (!w.delivered || !equalSnapshots(snap, w.last)) {
			w.last, w.delivered = snap, true
			return cloneSnapshot(snap), nil
		}
		select {
		case <-changed:
		case <-w.closed:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close implements Watcher. It is idempotent and returns after the watch's
// goroutine, if any, has stopped.
func (w *feedWatcher) Close() error {
	w.closeOnce.Do(func() {
		close(w.closed)
		if w.stop != nil {
			w.stop()
		}
	})
	return nil
}
