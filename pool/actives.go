package pool

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/semaphore"
)

// Actives limits concurrent calls per key: Dubbo's "actives", where a key is
// one method of one provider as seen by one consumer. A caller over the
// limit waits, in FIFO order, until a slot frees or its context ends. The
// zero limit means no limit. Safe for concurrent use.
type Actives struct {
	limit int64
	sems  sync.Map // key -> *semaphore.Weighted
}

// NewActives returns a limiter of limit concurrent calls per key; limit <= 0
// means unlimited.
func NewActives(limit int) *Actives { return &Actives{limit: int64(limit)} }

// Slot is a held place under an Actives limit. The zero Slot (from an
// unlimited Actives) holds nothing.
type Slot struct{ sem *semaphore.Weighted }

// Release gives the slot back. Call it exactly once per successful Acquire.
func (s Slot) Release() {
	if s.sem != nil {
		s.sem.Release(1)
	}
}

// TryAcquire takes a slot for key if one is free, without waiting.
func (a *Actives) TryAcquire(key string) (Slot, bool) {
	if a == nil || a.limit <= 0 {
		return Slot{}, true
	}
	sem := a.sem(key)
	if sem.TryAcquire(1) {
		return Slot{sem}, true
	}
	return Slot{}, false
}

func (a *Actives) sem(key string) *semaphore.Weighted {
	v, ok := a.sems.Load(key)
	if !ok {
		v, _ = a.sems.LoadOrStore(key, semaphore.NewWeighted(a.limit))
	}
	return v.(*semaphore.Weighted)
}

// Acquire takes a slot for key, waiting for one while ctx lasts. If ctx ends
// first it returns an error matching both ErrLimitExceeded and ctx's error,
// and holds nothing.
func (a *Actives) Acquire(ctx context.Context, key string) (Slot, error) {
	if a == nil || a.limit <= 0 {
		return Slot{}, nil
	}
	sem := a.sem(key)
	if sem.TryAcquire(1) {
		return Slot{sem}, nil
	}
	if err := sem.Acquire(ctx, 1); err != nil {
		return Slot{}, fmt.Errorf("%w: %d calls to %s in flight: %w", ErrLimitExceeded, a.limit, key, err)
	}
	return Slot{sem}, nil
}
