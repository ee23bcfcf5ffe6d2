package registry

import "sync"

// feed holds the latest snapshot of one service and wakes the watchers that
// wait for it to change. Producers (a registry's bookkeeping or a Consul watch
// loop) publish; watchers read. It runs no goroutine.
type feed struct {
	mu sync.Mutex
	// snap is the latest snapshot, sorted and never mutated. Guarded by mu.
	snap []Instance
	// ready is true once the registry has answered at least once. Guarded by mu.
	ready bool
	// changed is closed, and replaced, whenever snap or ready changes.
	// Guarded by mu.
	changed chan struct{}
}

func newFeed() *feed { return &feed{changed: make(chan struct{})} }

// publish makes insts the current snapshot. It wakes the waiting watchers only
// when the content differs from the current snapshot (or on the first
// answer); it reports whether it did.
func (f *feed) publish(insts []Instance) bool {
	snap := newSnapshot(insts)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ready && equalSnapshots(f.snap, snap) {
		return false
	}
	f.snap, f.ready = snap, true
	close(f.changed)
	f.changed = make(chan struct{})
	return true
}

// current returns the latest snapshot (shared: do not modify), whether the
// registry has answered yet, and a channel closed at the next change.
func (f *feed) current() (snap []Instance, ready bool, changed <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap, f.ready, f.changed
}
