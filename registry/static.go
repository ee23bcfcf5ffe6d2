package registry

import (
	"context"
	"fmt"
	"net"
	"strconv"
)

// Static is a Registry over a fixed list of instances, for deployments
// without a registry service (addresses come from configuration) and for
// tests.
//
// Watch delivers the configured list once (an empty one for an unknown
// service) and Next then blocks until its context ends or the Watcher is
// closed: the list never changes.
//
// Register validates the instance and returns a Registration that announces
// nothing: with a static registry the consumers' configuration names the
// providers, so a provider can run unchanged whichever registry it is given.
// Health functions are never called.
type Static struct {
	// feeds holds one ready feed per configured service. Written only by the
	// constructors; read-only afterwards, so it needs no lock.
	feeds map[string]*feed
}

// NewStatic returns a Static registry from service names to "host:port"
// addresses. Each instance gets the default ID ("<service>-<host:port>") and
// DefaultWeight. An unparsable address, a port outside 1..65535 or an empty
// service name fails with ErrInvalidInstance.
func NewStatic(services map[string][]string) (*Static, error) {
	var insts []Instance
	for service, addrs := range services {
		for _, addr := range addrs {
			host, portText, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, fmt.Errorf("%w: service %q: address %q: %v", ErrInvalidInstance, service, addr, err)
			}
			port, err := strconv.Atoi(portText)
			if err != nil {
				return nil, fmt.Errorf("%w: service %q: address %q: port is not a number", ErrInvalidInstance, service, addr)
			}
			insts = append(insts, Instance{Service: service, Host: host, Port: port})
		}
	}
	return NewStaticInstances(insts...)
}

// NewStaticInstances returns a Static registry of fully described instances
// (weights, versions, groups, metadata), grouped by their Service. Defaults
// are filled in as by Register; an invalid instance fails with
// ErrInvalidInstance, and so does an ID used twice within one service.
func NewStaticInstances(insts ...Instance) (*Static, error) {
	byService := make(map[string][]Instance)
	seen := make(map[string]map[string]bool)
	for _, inst := range insts {
		n, err := inst.normalize()
		if err != nil {
			return nil, err
		}
		if seen[n.Service] == nil {
			seen[n.Service] = make(map[string]bool)
		}
		if seen[n.Service][n.ID] {
			return nil, fmt.Errorf("%w: service %q: duplicate instance ID %q", ErrInvalidInstance, n.Service, n.ID)
		}
		seen[n.Service][n.ID] = true
		byService[n.Service] = append(byService[n.Service], n)
	}
	s := &Static{feeds: make(map[string]*feed, len(byService))}
	for service, list := range byService {
		f := newFeed()
		f.publish(list)
		s.feeds[service] = f
	}
	return s, nil
}

// Register implements Registry: it validates inst and returns a Registration
// that announces nothing (see Static).
func (s *Static) Register(ctx context.Context, inst Instance, _ RegisterOptions) (Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n, err := inst.normalize()
	if err != nil {
		return nil, err
	}
	return staticRegistration{inst: n}, nil
}

// Watch implements Registry. ctx bounds only this call; the Watcher lives
// until it is closed.
func (s *Static) Watch(ctx context.Context, service string) (Watcher, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, ok := s.feeds[service]
	if !ok {
		f = newFeed()
		f.publish(nil)
	}
	return newFeedWatcher(f, nil), nil
}

type staticRegistration struct{ inst Instance }

func (r staticRegistration) Instance() Instance                 { return r.inst.clone() }
func (r staticRegistration) Deregister(_ context.Context) error { return nil }

var _ Registry = (*Static)(nil)
