package main

import (
	"fmt"
	"time"
)

// progress prints one line per finished piece of work, with the time spent
// and an estimate of the time left. Estimates start from the planned
// durations and are scaled by how long the work done so far really took.
type progress struct {
	start       time.Time
	planned     time.Duration // all the work
	plannedDone time.Duration
}

func newProgress(planned time.Duration) *progress {
	return &progress{start: time.Now(), planned: planned}
}

// done records a piece of work planned to take d and prints what it did.
func (p *progress) done(d time.Duration, format string, args ...any) {
	p.plannedDone += d
	elapsed := time.Since(p.start)
	left := p.planned - p.plannedDone
	if p.plannedDone > 0 {
		left = time.Duration(float64(left) * float64(elapsed) / float64(p.plannedDone))
	}
	fmt.Printf("%s  [elapsed %s, remaining ~%s]\n", fmt.Sprintf(format, args...), round(elapsed), round(max(left, 0)))
}

// note prints a line without counting any work.
func (p *progress) note(format string, args ...any) {
	fmt.Printf("%s  [elapsed %s]\n", fmt.Sprintf(format, args...), round(time.Since(p.start)))
}

func round(d time.Duration) time.Duration { return d.Round(time.Second) }
