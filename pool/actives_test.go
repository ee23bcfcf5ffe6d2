package pool_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/longlink/longlink/pool"
)

// Under heavy concurrency no more than the limit run at once, the limit is
// reached, callers whose contexts end get ErrLimitExceeded, and every slot
// comes back.
func TestActivesExactUnderConcurrency(t *testing.T) {
	tests := []struct {
		limit, goroutines int
		cancelEvery       int // every n-th caller has an already-ending context; 0: none
	}{
		{1, 50, 0},
		{5, 200, 0},
		{5, 200, 3},
		{64, 1000, 7},
	}
	for _, tc := range tests {
		a := pool.NewActives(tc.limit)
		var running, peak, ok, limited atomic.Int64
		full := make(chan struct{}) // closed once limit callers hold slots at once
		var fullOnce sync.Once
		var wg sync.WaitGroup
		for i := range tc.goroutines {
			wg.Go(func() {
				ctx := context.Background()
				if tc.cancelEvery > 0 && i%tc.cancelEvery == 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, time.Microsecond)
					defer cancel()
				}
				slot, err := a.Acquire(ctx, "Svc.M")
				if err != nil {
					if !errors.Is(err, pool.ErrLimitExceeded) || !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("err = %v", err)
					}
					limited.Add(1)
					return
				}
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				if n == int64(tc.limit) {
					fullOnce.Do(func() { close(full) })
				}
				<-full // hold the slot until the limit has been reached once
				running.Add(-1)
				ok.Add(1)
				slot.Release()
			})
		}
		wg.Wait()
		if peak.Load() > int64(tc.limit) {
			t.Fatalf("limit %d: %d ran at once", tc.limit, peak.Load())
		}
		if peak.Load() != int64(tc.limit) {
			t.Fatalf("limit %d: peak %d", tc.limit, peak.Load())
		}
		if ok.Load()+limited.Load() != int64(tc.goroutines) {
			t.Fatalf("%d ok + %d limited != %d", ok.Load(), limited.Load(), tc.goroutines)
		}
		// Every slot is back: the limit can be taken whole, and no more.
		var slots []pool.Slot
		for range tc.limit {
			s, err := a.Acquire(context.Background(), "Svc.M")
			if err != nil {
				t.Fatal(err)
			}
			slots = append(slots, s)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		if _, err := a.Acquire(ctx, "Svc.M"); !errors.Is(err, pool.ErrLimitExceeded) {
			t.Fatalf("limit %d: slot %d granted", tc.limit, tc.limit+1)
		}
		cancel()
		for _, s := range slots {
			s.Release()
		}
	}
}

// A waiter gets the slot a release frees; other keys are independent.
func TestActivesWaitsForARelease(t *testing.T) {
	a := pool.NewActives(1)
	held, err := a.Acquire(context.Background(), "A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Acquire(context.Background(), "B"); err != nil {
		t.Fatalf("another key is limited separately: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		s, err := a.Acquire(context.Background(), "A")
		s.Release()
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("acquired over the limit: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	held.Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

func TestActivesUnlimited(t *testing.T) {
	for _, a := range []*pool.Actives{pool.NewActives(0), nil} {
		for range 1000 {
			if _, err := a.Acquire(context.Background(), "k"); err != nil {
				t.Fatal(err)
			}
		}
	}
}
