package main

import (
	"math/bits"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hist is a log-linear latency histogram (HDR-like): values below 64 ns are
// exact, larger ones fall into 64 buckets per power of two, so any recorded
// value is known to within 1/64 (1.6 %). It has a fixed size: recording never
// allocates. One goroutine records into it; merge combines them afterwards.
type hist struct {
	counts [histBuckets]uint32
	n      uint64
	max    time.Duration
}

const (
	subBits     = 6
	subCount    = 1 << subBits
	maxHistBits = 40 // values are clamped to 2^40 ns, about 18 minutes
	histBuckets = (maxHistBits - subBits + 1) * subCount
)

func bucketOf(v uint64) int {
	if v >= 1<<maxHistBits {
		v = 1<<maxHistBits - 1
	}
	g := bits.Len64(v) - subBits
	if g <= 0 {
		return int(v)
	}
	return g*subCount + int(v>>(g-1)) - subCount
}

// bucketValue returns the middle of bucket i's range, in nanoseconds.
func bucketValue(i int) time.Duration {
	g := i / subCount
	if g == 0 {
		return time.Duration(i)
	}
	low := uint64(i%subCount+subCount) << (g - 1)
	width := uint64(1) << (g - 1)
	return time.Duration(low + width/2)
}

func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	if d > h.max {
		h.max = d
	}
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency below which a fraction q of the recorded
// calls fall (the middle of the bucket holding that rank).
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			return min(bucketValue(i), h.max)
		}
	}
	return h.max
}

// usage is a point-in-time reading of the process's clock, CPU time and
// allocation counters.
type usage struct {
	at            time.Time
	cpu           time.Duration // user + system, all threads
	mallocs       uint64
	bytes         uint64 // cumulative bytes allocated
	reads, writes uint64 // read and write system calls (sockets included)
}

func readUsage() usage {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u := usage{at: time.Now(), cpu: cpuTime(), mallocs: ms.Mallocs, bytes: ms.TotalAlloc}
	u.reads, u.writes = syscallCounts()
	return u
}

// syscallCounts returns the process's read and write system calls so far,
// from /proc/self/io (zero where it is unavailable).
func syscallCounts() (reads, writes uint64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

// cpuTime returns the CPU time the process has used, user plus system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raiseFileLimit lifts RLIMIT_NOFILE's soft limit to its hard limit and
// returns the new soft limit.
func raiseFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	return rl.Cur
}
