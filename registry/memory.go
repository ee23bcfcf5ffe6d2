package registry

import (
	"context"
	"sync"
	"time"
)

// DefaultMemoryHealthInterval is how often a Memory registry calls each
// registration's Health function unless MemoryOptions says otherwise.
const DefaultMemoryHealthInterval = time.Second

// MemoryOptions tune a Memory registry. The zero value means the defaults.
type MemoryOptions struct {
	// HealthInterval is the period at which each registration's
	// RegisterOptions.Health is called, by a goroutine that the Registration
	// owns and Deregister stops. Default DefaultMemoryHealthInterval (1 s);
	// negative means never periodically: only at Register and on
	// Memory.CheckHealth.
	HealthInterval time.Duration
}

// Memory is an in-process Registry: providers register into it and watchers
// in the same process follow it, each change delivered as a full snapshot.
//
// An instance is in its service's healthy set while its Health function (if
// any) last returned nil. Health is called once by Register (so an instance
// that is not serving never appears), then every HealthInterval, and on
// demand by CheckHealth; calls for one registration never overlap.
//
// Registering an instance ID that is already registered replaces the earlier
// instance; the earlier Registration's Deregister then leaves the new one in
// place. A Memory needs no Close: its only goroutines belong to
// Registrations.
type Memory struct {
	healthInterval time.Duration

	mu sync.Mutex
	// services holds every service that was registered or watched. Entries are
	// never removed (a service's feed outlives its instances, for its
	// watchers). Guarded by mu, as is everything reachable from it except
	// the feeds, which lock themselves (lock order: mu, then feed.mu).
	services map[string]*memService
}

type memService struct {
	entries map[string]*memEntry // by instance ID
	feed    *feed
}

type memEntry struct {
	reg     *memRegistration // the registration that owns the entry
	healthy bool
}

// NewMemory returns an empty Memory registry with the default options.
func NewMemory() *Memory { return NewMemoryWithOptions(MemoryOptions{}) }

// NewMemoryWithOptions returns an empty Memory registry.
func NewMemoryWithOptions(opts MemoryOptions) *Memory {
	if opts.HealthInterval == 0 {
		opts.HealthInterval = DefaultMemoryHealthInterval
	}
	return &Memory{healthInterval: opts.HealthInterval, services: make(map[string]*memService)}
}

// service returns the named service, creating it. m.mu must be held.
func (m *Memory) service(name string) *memService {
	s, ok := m.services[name]
	if !ok {
		s = &memService{entries: make(map[string]*memEntry), feed: newFeed()}
		s.feed.publish(nil)
		m.services[name] = s
	}
	return s
}

// publishLocked sends the healthy set of s to its watchers. m.mu must be held.
func (s *memService) publishLocked() {
	var healthy []Instance
	for _, e := range s.entries {
		if e.healthy {
			healthy = append(healthy, e.reg.inst)
		}
	}
	s.feed.publish(healthy)
}

// Register implements Registry.
func (m *Memory) Register(ctx context.Context, inst Instance, opts RegisterOptions) (Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n, err := inst.normalize()
	if err != nil {
		return nil, err
	}
	r := &memRegistration{m: m, inst: n, health: opts.Health, stop: make(chan struct{}), done: make(chan struct{})}
	healthy := r.callHealth()

	m.mu.Lock()
	s := m.service(n.Service)
	s.entries[n.ID] = &memEntry{reg: r, healthy: healthy}
	s.publishLocked()
	m.mu.Unlock()

	if opts.Health != nil && m.healthInterval > 0 {
		go r.checkLoop(m.healthInterval)
	} else {
		close(r.done)
	}
	return r, nil
}

// Watch implements Registry. ctx bounds only this call; the Watcher lives
// until it is closed. The first Next returns at once.
func (m *Memory) Watch(ctx context.Context, service string) (Watcher, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	f := m.service(service).feed
	m.mu.Unlock()
	return newFeedWatcher(f, nil), nil
}

// CheckHealth calls the Health function of every registration now and
// updates the healthy sets before returning.
func (m *Memory) CheckHealth() {
	var regs []*memRegistration
	m.mu.Lock()
	for _, s := range m.services {
		for _, e := range s.entries {
			if e.reg.health != nil {
				regs = append(regs, e.reg)
			}
		}
	}
	m.mu.Unlock()
	for _, r := range regs {
		r.check()
	}
}

// setHealthy records the outcome of a health check of r, if r still owns its
// entry.
func (m *Memory) setHealthy(r *memRegistration, healthy bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.services[r.inst.Service]
	e, ok := s.entries[r.inst.ID]
	if !ok || e.reg != r || e.healthy == healthy {
		return
	}
	e.healthy = healthy
	s.publishLocked()
}

// remove deletes r's entry, if r still owns it.
func (m *Memory) remove(r *memRegistration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.services[r.inst.Service]
	if e, ok := s.entries[r.inst.ID]; ok && e.reg == r {
		delete(s.entries, r.inst.ID)
		s.publishLocked()
	}
}

// memRegistration is a Registration of a Memory registry.
type memRegistration struct {
	m      *Memory
	inst   Instance     // normalized; never modified
	health func() error // nil: always healthy

	// checkMu serialises calls of health, so that the periodic check and
	// CheckHealth never run it concurrently.
	checkMu sync.Mutex

	stopOnce sync.Once
	stop     chan struct{} // closed by Deregister
	done     chan struct{} // closed when checkLoop has returned (or never ran)
}

func (r *memRegistration) Instance() Instance { return r.inst.clone() }

// callHealth runs the Health function and reports whether it passed.
func (r *memRegistration) callHealth() bool {
	if r.health == nil {
		return true
	}
	r.checkMu.Lock()
	defer r.checkMu.Unlock()
	return r.health() == nil
}

func (r *memRegistration) check() { r.m.setHealthy(r, r.callHealth()) }

// checkLoop calls Health every interval until Deregister. Owned by r.
func (r *memRegistration) checkLoop(interval time.Duration) {
	defer close(r.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.check()
		}
	}
}

// Deregister implements Registration. It stops the periodic health check,
// then removes the instance; it never fails.
func (r *memRegistration) Deregister(_ context.Context) error {
	r.stopOnce.Do(func() {
		close(r.stop)
		<-r.done
		r.m.remove(r)
	})
	return nil
}

var _ Registry = (*Memory)(nil)
