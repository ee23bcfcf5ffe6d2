package main

import (
	"fmt"
	"slices"
	"time"
)

// benchCase is one message and concurrency.
type benchCase struct {
	msg  string
	conc int
}

func (c benchCase) String() string { return fmt.Sprintf("%s c=%d", c.msg, c.conc) }

// roundsPlan is an interleaved measurement: every round runs a slice of each
// system for each case, so that machine noise hits all systems alike.
type roundsPlan struct {
	suite    string // for progress lines
	systems  []systemSpec
	cases    []benchCase
	rounds   int
	warmup   time.Duration // per slice, before measuring
	duration time.Duration // measured, per slice
	warmRun  bool          // first run every system once, unrecorded
	profile  profileConfig
}

// profileConfig selects the slices that write a CPU profile.
type profileConfig struct {
	prefix  string   // file name prefix; empty: no profiles
	systems []string // names of the systems to profile
	allocs  bool     // allocation profiles too
}

func (c profileConfig) path(sys string, bc benchCase, round int) string {
	if c.prefix == "" || !slices.Contains(c.systems, sys) {
		return ""
	}
	return fmt.Sprintf("%s-%s-%s-c%d-r%d", c.prefix, sys, bc.msg, bc.conc, round)
}

// sliceOverhead is the planned time to start and stop a system.
const sliceOverhead = 300 * time.Millisecond

func (p *roundsPlan) sliceTime() time.Duration { return p.warmup + p.duration + sliceOverhead }

// planned is how long the plan should take.
func (p *roundsPlan) planned() time.Duration {
	n := p.rounds * len(p.cases) * len(p.systems)
	if p.warmRun {
		n += len(p.systems)
	}
	return time.Duration(n) * p.sliceTime()
}

// measurements holds the results of a plan, by case and system name.
type measurements struct {
	plan *roundsPlan
	res  map[benchCase]map[string]*result
}

func (m *measurements) get(c benchCase, sys string) *result {
	if r := m.res[c][sys]; r != nil {
		return r
	}
	return &result{}
}

func (p *roundsPlan) run(prog *progress) (*measurements, error) {
	m := &measurements{plan: p, res: make(map[benchCase]map[string]*result)}
	for _, c := range p.cases {
		m.res[c] = make(map[string]*result)
	}
	if p.warmRun && len(p.cases) > 0 {
		c := p.cases[0]
		for _, spec := range p.systems {
			r, err := runSlice(spec, sliceConfig{msg: c.msg, conc: c.conc, warmup: p.warmup, duration: p.duration})
			if err != nil {
				return nil, err
			}
			prog.done(p.sliceTime(), "[%s warm-up] %-16s %-12s %10.0f calls/s (not recorded)", p.suite, spec.name, c, r.throughput())
		}
	}
	slot, slots := 0, p.rounds*len(p.cases)*len(p.systems)
	for round := range p.rounds {
		for ci, c := range p.cases {
			for i := range p.systems {
				// Rotate the order so that no system always runs first.
				spec := p.systems[(i+round+ci)%len(p.systems)]
				slot++
				r, err := runSlice(spec, sliceConfig{
					msg: c.msg, conc: c.conc, warmup: p.warmup, duration: p.duration,
					profile: p.profile.path(spec.name, c, round+1), allocs: p.profile.allocs,
				})
				if err != nil {
					return nil, err
				}
				if prev := m.res[c][spec.name]; prev != nil {
					prev.add(r)
				} else {
					m.res[c][spec.name] = r
				}
				line := fmt.Sprintf("[%s round %d/%d, %d/%d] %-16s %-12s %10.0f calls/s  p99 %-9v",
					p.suite, round+1, p.rounds, slot, slots, spec.name, c, r.throughput(), r.lat.quantile(0.99).Round(time.Microsecond))
				if r.errors > 0 {
					line += fmt.Sprintf("  %d errors, first: %v", r.errors, r.firstErr)
				}
				if r.leaked > 0 {
					line += fmt.Sprintf("  WARNING: %d goroutines still running after stop", r.leaked)
				}
				prog.done(p.sliceTime(), "%s", line)
			}
		}
	}
	return m, nil
}
