package longlink_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/rpc"
)

func TestClientInterceptors(t *testing.T) {
	cl := startCluster(t, 3)
	var log []string
	var last longlink.CallInfo
	record := func(name string) longlink.ClientInterceptor {
		return func(ctx context.Context, info *longlink.CallInfo, req, resp any, next longlink.Invoker) error {
			log = append(log, name+">"+info.Method)
			err := next(ctx, req, resp)
			log = append(log, fmt.Sprintf("%s<%v", name, err))
			last = *info
			return err
		}
	}
	tag := func(ctx context.Context, info *longlink.CallInfo, req, resp any, next longlink.Invoker) error {
		if info.Method == "Blocked" {
			return errors.New("blocked by policy")
		}
		return next(rpc.WithMetadata(ctx, rpc.Metadata{"k": "from-interceptor"}), req, resp)
	}
	c := newClient(t, cl.reg, "Echo", longlink.ClientOptions{Interceptors: []longlink.ClientInterceptor{record("a"), record("b"), tag}})

	m, err := call(t, c, "Meta", 1)
	if err != nil || m.From != "from-interceptor" {
		t.Fatalf("metadata added by an interceptor reached the handler as %q (%v)", m.From, err)
	}
	if want := "[a>Meta b>Meta b<<nil> a<<nil>]"; fmt.Sprint(log) != want {
		t.Fatalf("order %v, want %s", log, want)
	}
	if last.Service != "Echo" || last.Attempts != 1 || last.Provider == "" {
		t.Fatalf("call info %+v", last)
	}

	log = nil
	if _, err := call(t, c, "Blocked", 1); err == nil || err.Error() != "blocked by policy" {
		t.Fatalf("short-circuited call: %v", err)
	}
	if want := "[a>Blocked b>Blocked b<blocked by policy a<blocked by policy]"; fmt.Sprint(log) != want {
		t.Fatalf("order %v, want %s", log, want)
	}

	// After a failover the interceptor sees the attempts and the provider
	// that answered.
	victim := cl.providers[0]
	gate := make(chan struct{})
	victim.svc.gate.Store(&gate)
	done := make(chan error, 1)
	go func() {
		for {
			_, err := call(t, c, "Echo", 2)
			if err != nil || last.Attempts > 1 {
				done <- err
				return
			}
		}
	}()
	waitFor(t, "a call stuck on the victim", func() bool { return victim.svc.running.Load() > 0 })
	victim.kill()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if last.Attempts != 2 || last.Provider == victim.addr() {
		t.Fatalf("after failover: %+v", last)
	}
}
