package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// A slice is one system measured once: start it, run conc goroutines that
// call in a closed loop, warm up, measure for a fixed time, stop everything.

// sliceConfig says what one slice runs.
type sliceConfig struct {
	msg      string
	conc     int
	warmup   time.Duration
	duration time.Duration
	profile  string // if set, profiles of the measured window go to files named after it
	allocs   bool   // also profile allocations
}

// result accumulates what was measured over one or more slices.
type result struct {
	calls    uint64
	errors   uint64
	firstErr error
	elapsed  time.Duration // measured wall time
	cpu      time.Duration // process CPU time over the measured windows
	mallocs  uint64        // heap allocations over the measured windows, server side included
	bytes    uint64        // bytes allocated, likewise
	reads    uint64        // read system calls over the windows, both sides
	writes   uint64        // write system calls, likewise
	lat      hist
	leaked   int       // goroutines still running after a slice was stopped (worst slice)
	rounds   []float64 // throughput of each slice, calls/s
}

func (r *result) throughput() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.calls) / r.elapsed.Seconds()
}

// perCall divides a total by the number of calls.
func (r *result) perCall(total float64) float64 {
	if r.calls == 0 {
		return 0
	}
	return total / float64(r.calls)
}

func (r *result) add(o *result) {
	r.calls += o.calls
	r.errors += o.errors
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.mallocs += o.mallocs
	r.bytes += o.bytes
	r.reads += o.reads
	r.writes += o.writes
	r.lat.merge(&o.lat)
	r.leaked = max(r.leaked, o.leaked)
	r.rounds = append(r.rounds, o.rounds...)
}

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// worker is one calling goroutine's private record, so that recording
// shares nothing.
type worker struct {
	lat      hist
	errors   uint64
	firstErr error
}

func (w *worker) loop(call func() error, phase *atomic.Int32) {
	for phase.Load() != phaseStop {
		t0 := time.Now()
		err := call()
		d := time.Since(t0)
		if phase.Load() != phaseMeasure {
			continue // only calls that complete inside the window count
		}
		if err != nil {
			w.errors++
			if w.firstErr == nil {
				w.firstErr = err
			}
			continue
		}
		w.lat.record(d)
	}
}

// stuckGrace is how long a slice waits for its goroutines' last calls before
// it closes the system under them.
const stuckGrace = 10 * time.Second

// runSlice measures spec once.
func runSlice(spec systemSpec, cfg sliceConfig) (*result, error) {
	before := runtime.NumGoroutine()
	sys, err := spec.start()
	if err != nil {
		return nil, fmt.Errorf("%s: start: %w", spec.name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	workers := make([]worker, cfg.conc)
	calls := make([]func() error, cfg.conc)
	for i := range calls {
		if calls[i], err = sys.caller(ctx, cfg.msg); err != nil {
			sys.close()
			return nil, fmt.Errorf("%s: %w", spec.name, err)
		}
	}
	var phase atomic.Int32
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { workers[i].loop(calls[i], &phase) })
	}

	time.Sleep(cfg.warmup)
	stopProfile := startProfile(cfg.profile, cfg.allocs)
	u0 := readUsage()
	phase.Store(phaseMeasure)
	time.Sleep(cfg.duration)
	phase.Store(phaseStop)
	u1 := readUsage()
	stopProfile()

	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
		sys.close()
	case <-time.After(stuckGrace):
		cancel() // calls stuck for this long: fail them
		sys.close()
		<-waited
	}
	cancel()

	r := &result{
		elapsed: u1.at.Sub(u0.at),
		cpu:     u1.cpu - u0.cpu,
		mallocs: u1.mallocs - u0.mallocs,
		bytes:   u1.bytes - u0.bytes,
		reads:   u1.reads - u0.reads,
		writes:  u1.writes - u0.writes,
		leaked:  waitGoroutines(before, 5*time.Second),
	}
	for i := range workers {
		w := &workers[i]
		r.lat.merge(&w.lat)
		r.errors += w.errors
		if r.firstErr == nil {
			r.firstErr = w.firstErr
		}
	}
	r.calls = r.lat.n
	r.rounds = []float64{r.throughput()}
	return r, nil
}

// waitGoroutines waits until at most n goroutines run, or for d, and
// returns how many more than n still run.
func waitGoroutines(n int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		extra := runtime.NumGoroutine() - n
		if extra <= 0 || time.Now().After(deadline) {
			return max(extra, 0)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startProfile starts the profiles of a measured window, if path is set,
// and returns the function that ends them: a CPU profile into path+".prof"
// and, with allocs, the allocation profile at the start and at the end of
// the window (path+"-allocs-base.prof", path+"-allocs.prof"; compare them
// with pprof -diff_base).
func startProfile(path string, allocs bool) func() {
	if path == "" {
		return func() {}
	}
	if allocs {
		writeAllocs(path + "-allocs-base.prof")
	}
	f, err := os.Create(path + ".prof")
	if err != nil {
		fmt.Fprintf(os.Stderr, "cpu profile: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "cpu profile: %v\n", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		if allocs {
			writeAllocs(path + "-allocs.prof")
		}
	}
}

func writeAllocs(path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "allocs profile: %v\n", err)
	}
}
