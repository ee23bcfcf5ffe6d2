package registry_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/longlink/longlink/internal/consultest"
	"github.com/longlink/longlink/registry"
)

// The acceptance criterion: a watcher sees a new instance within 1 s of its
// registration.
func TestConsulWatcherSeesRegistrationWithin1s(t *testing.T) {
	c := newConsul(t, fastOptions(t, consultest.Start(t)))
	svc := serviceName(t)
	w := mustWatch(t, c, svc)
	if got := nextWithin(t, w, waitLimit); len(got) != 0 {
		t.Fatalf("first snapshot %v, want empty", ids(got))
	}
	reg := mustRegister(t, c, registry.Instance{Service: svc, ID: "i1", Host: "127.0.0.1", Port: 7100}, registry.RegisterOptions{})
	defer mustDeregister(t, reg)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	got, err := w.Next(ctx)
	if err != nil {
		t.Fatalf("the watcher did not see the registration within 1 s: %v", err)
	}
	if !hasIDs("i1")(got) {
		t.Fatalf("snapshot %v, want [i1]", ids(got))
	}
}

// agentCheck returns the agent's view of one check.
func agentCheck(t *testing.T, c *registry.Consul, checkID string) *api.AgentCheck {
	t.Helper()
	checks, err := c.Client().Agent().Checks()
	if err != nil {
		t.Fatalf("agent checks: %v", err)
	}
	return checks[checkID]
}

func TestConsulHealthErrorFailsTTLCheck(t *testing.T) {
	c := newConsul(t, fastOptions(t, consultest.Start(t)))
	svc := serviceName(t)
	w := mustWatch(t, c, svc)
	var h switchableHealth
	reg := mustRegister(t, c, registry.Instance{Service: svc, ID: "i1", Host: "127.0.0.1", Port: 7100},
		registry.RegisterOptions{Health: h.check})
	defer mustDeregister(t, reg)
	waitSnapshot(t, w, "i1 passing", hasIDs("i1"))

	h.set(errors.New("database connection lost"))
	waitSnapshot(t, w, "i1 leaving the passing set", hasIDs())
	check := agentCheck(t, c, "service:i1:ttl")
	if check == nil || check.Status != api.HealthCritical || !strings.Contains(check.Output, "database connection lost") {
		t.Fatalf("TTL check %+v, want critical with the Health error as output", check)
	}

	h.set(nil)
	waitSnapshot(t, w, "i1 passing again", hasIDs("i1"))
}

func TestConsulStoppedRefresherLetsTTLExpire(t *testing.T) {
	c := newConsul(t, fastOptions(t, consultest.Start(t)))
	svc := serviceName(t)
	w := mustWatch(t, c, svc)
	reg := mustRegister(t, c, registry.Instance{Service: svc, ID: "i1", Host: "127.0.0.1", Port: 7100}, registry.RegisterOptions{})
	defer mustDeregister(t, reg)
	waitSnapshot(t, w, "i1", hasIDs("i1"))

	registry.StopRefresher(reg) // the provider hangs: nobody refreshes the TTL
	waitSnapshot(t, w, "i1 expired", hasIDs())
	if check := agentCheck(t, c, "service:i1:ttl"); check == nil || check.Status != api.HealthCritical {
		t.Fatalf("TTL check %+v, want critical", check)
	}
}

func TestConsulDeregister(t *testing.T) {
	c := newConsul(t, fastOptions(t, consultest.Start(t)))
	svc := serviceName(t)
	w := mustWatch(t, c, svc)
	var calls switchableHealth
	reg := mustRegister(t, c, registry.Instance{Service: svc, ID: "i1", Host: "127.0.0.1", Port: 7100},
		registry.RegisterOptions{Health: calls.check})
	waitSnapshot(t, w, "i1", hasIDs("i1"))

	mustDeregister(t, reg)
	waitSnapshot(t, w, "i1 gone", hasIDs())
	services, err := c.Client().Agent().Services()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := services["i1"]; ok {
		t.Fatal("the agent still has the service after Deregister")
	}
	if check := agentCheck(t, c, "service:i1:ttl"); check != nil {
		t.Fatalf("the agent still has the check after Deregister: %+v", check)
	}
	mustDeregister(t, reg) // again: nil
}

// The registration as the agent stores it: meta keys, Consul weights, checks.
func TestConsulRegistrationDetails(t *testing.T) {
	c := newConsul(t, fastOptions(t, consultest.Start(t)))
	started := time.UnixMilli(1_700_000_000_456)
	reg := mustRegister(t, c, registry.Instance{
		Service: serviceName(t), ID: "i1", Host: "127.0.0.1", Port: 7100, Weight: 5, Version: "3", Group: "g",
		StartedAt: started, Meta: map[string]string{"zone": "z", registry.MetaWeight: "999"},
	}, registry.RegisterOptions{})
	defer mustDeregister(t, reg)

	svc, _, err := c.Client().Agent().Service("i1", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"zone": "z", registry.MetaWeight: "5", registry.MetaVersion: "3", registry.MetaGroup: "g",
		registry.MetaStartedAt: strconv.FormatInt(started.UnixMilli(), 10)}
	for k, v := range want {
		if svc.Meta[k] != v {
			t.Errorf("meta[%q] = %q, want %q (all: %v)", k, svc.Meta[k], v, svc.Meta)
		}
	}
	if svc.Weights.Passing != 5 {
		t.Errorf("Consul passing weight %d, want 5", svc.Weights.Passing)
	}
	check := agentCheck(t, c, "service:i1:ttl")
	if check == nil || check.Status != api.HealthPassing {
		t.Fatalf("TTL check %+v, want passing", check)
	}
	// The agent does not report DeregisterCriticalServiceAfter back; the
	// internal test TestAgentRegistration covers it.
}

func TestConsulTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	opts := fastOptions(t, consultest.Start(t))
	opts.TCPCheck, opts.TCPCheckInterval = true, 200*time.Millisecond
	c := newConsul(t, opts)
	svc := serviceName(t)
	w := mustWatch(t, c, svc)
	port := ln.Addr().(*net.TCPAddr).Port
	reg := mustRegister(t, c, registry.Instance{Service: svc, ID: "i1", Host: "127.0.0.1", Port: port}, registry.RegisterOptions{})
	defer mustDeregister(t, reg)
	waitSnapshot(t, w, "i1 with a passing TCP check", hasIDs("i1"))
	if check := agentCheck(t, c, "service:i1:tcp"); check == nil {
		t.Fatal("no TCP check registered")
	}

	ln.Close() // the process still refreshes its TTL, but its port is dead
	waitSnapshot(t, w, "i1 failing its TCP check", hasIDs())
}

// A change that leaves the passing set as it was is not delivered.
func TestConsulDeliversOnlyChanges(t *testing.T) {
	c := newConsul(t, fastOptions(t, consultest.Start(t)))
	svc := serviceName(t)
	w := mustWatch(t, c, svc)
	a := mustRegister(t, c, registry.Instance{Service: svc, ID: "a", Host: "127.0.0.1", Port: 7101}, registry.RegisterOptions{})
	defer mustDeregister(t, a)
	waitSnapshot(t, w, "a", hasIDs("a"))

	// b is critical: the service's index moves, its passing set does not.
	b := mustRegister(t, c, registry.Instance{Service: svc, ID: "b", Host: "127.0.0.1", Port: 7102},
		registry.RegisterOptions{Health: func() error { return errors.New("starting") }})
	defer mustDeregister(t, b)
	cc := mustRegister(t, c, registry.Instance{Service: svc, ID: "c", Host: "127.0.0.1", Port: 7103}, registry.RegisterOptions{})
	defer mustDeregister(t, cc)

	if got := nextWithin(t, w, waitLimit); !hasIDs("a", "c")(got) {
		t.Fatalf("snapshot %v after [a]: want [a c], nothing in between", ids(got))
	}
}

func TestConsulCloseEndsWatchersAndRegistrations(t *testing.T) {
	agent := consultest.Start(t)
	probe := newConsul(t, fastOptions(t, agent))
	c, err := registry.NewConsul(fastOptions(t, agent))
	if err != nil {
		t.Fatal(err)
	}
	svc := serviceName(t)
	w := mustWatch(t, c, svc)
	mustRegister(t, c, registry.Instance{Service: svc, ID: "i1", Host: "127.0.0.1", Port: 7100}, registry.RegisterOptions{})
	pw := mustWatch(t, probe, svc)
	waitSnapshot(t, pw, "i1", hasIDs("i1"))

	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := w.Next(context.Background()); !errors.Is(err, registry.ErrClosed) {
		t.Fatalf("Next after the registry's Close = %v, want ErrClosed", err)
	}
	waitSnapshot(t, pw, "i1 deregistered by Close", hasIDs())
	if _, err := c.Watch(context.Background(), svc); !errors.Is(err, registry.ErrClosed) {
		t.Fatalf("Watch after Close = %v, want ErrClosed", err)
	}
	if _, err := c.Register(context.Background(), registry.Instance{Service: svc, Host: "h", Port: 1}, registry.RegisterOptions{}); !errors.Is(err, registry.ErrClosed) {
		t.Fatalf("Register after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestConsulRejectsIDsUnsafeInPaths(t *testing.T) {
	c := newConsul(t, fastOptions(t, consultest.Start(t)))
	for _, id := range []string{"a/b", "a?b", "a#b", "a%2Fb"} {
		_, err := c.Register(context.Background(), registry.Instance{Service: "s", ID: id, Host: "h", Port: 1}, registry.RegisterOptions{})
		if !errors.Is(err, registry.ErrInvalidInstance) {
			t.Errorf("Register(ID %q) = %v, want ErrInvalidInstance", id, err)
		}
	}
}
