package registry_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/longlink/longlink/internal/consultest"
	"github.com/longlink/longlink/registry"
)

const aclHCL = `acl { enabled = true default_policy = "deny" tokens { initial_management = "root" } }`

// deadAddr returns a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestNewConsulChecksConfiguration(t *testing.T) {
	acl := consultest.StartWith(t, consultest.Options{HCL: aclHCL, Token: "root"})
	dead := deadAddr(t)
	tests := []struct {
		name     string
		addr     string
		token    string
		wantErr  error
		wantText []string // in the error message
	}{
		{"unreachable address", dead, "", registry.ErrUnreachable, []string{dead, "connection refused"}},
		{"unknown ACL token", acl.Addr(), "no-such-token", registry.ErrAccessDenied, []string{acl.Addr(), "ACL token", "ACL not found"}},
		{"management token", acl.Addr(), "root", nil, nil},
		{"no token: the anonymous one", acl.Addr(), "", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := registry.NewConsul(registry.ConsulOptions{
				Config:         &api.Config{Address: tc.addr, Token: tc.token},
				RequestTimeout: 10 * time.Second,
				Logger:         testLogger(t),
			})
			if err == nil {
				defer c.Close()
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("NewConsul error = %v, want %v", err, tc.wantErr)
			}
			t.Logf("NewConsul error: %v", err)
			for _, s := range tc.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// With the start-up check skipped, each operation reports bad configuration
// itself, clearly.
func TestConsulOperationsReportBadConfiguration(t *testing.T) {
	acl := consultest.StartWith(t, consultest.Options{HCL: aclHCL, Token: "root"})
	dead := deadAddr(t)
	inst := registry.Instance{Service: serviceName(t), ID: "i1", Host: "127.0.0.1", Port: 7300}
	tests := []struct {
		name        string
		addr, token string
		registerErr error
		registerMsg string
		watchErr    error // nil: Watch succeeds (and keeps trying)
	}{
		{"unknown token", acl.Addr(), "no-such-token", registry.ErrAccessDenied, "ACL not found", registry.ErrAccessDenied},
		{"anonymous token lacks service:write", acl.Addr(), "", registry.ErrAccessDenied, "Permission denied", nil},
		{"unreachable address", dead, "", registry.ErrUnreachable, "connection refused", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newConsul(t, registry.ConsulOptions{
				Config:           &api.Config{Address: tc.addr, Token: tc.token},
				SkipStartupCheck: true,
				RequestTimeout:   10 * time.Second,
				Logger:           testLogger(t),
			})
			reg, err := c.Register(context.Background(), inst, registry.RegisterOptions{})
			if !errors.Is(err, tc.registerErr) || !strings.Contains(err.Error(), tc.registerMsg) {
				t.Fatalf("Register = %v, %v; want %v mentioning %q", reg, err, tc.registerErr, tc.registerMsg)
			}
			t.Logf("Register error: %v", err)
			w, err := c.Watch(context.Background(), inst.Service)
			if !errors.Is(err, tc.watchErr) {
				t.Fatalf("Watch error = %v, want %v", err, tc.watchErr)
			}
			if w != nil {
				w.Close()
			}
		})
	}
}

// A nil Config means api.DefaultConfig(), which reads CONSUL_HTTP_ADDR and
// CONSUL_HTTP_TOKEN.
func TestConsulConfigFromEnvironment(t *testing.T) {
	acl := consultest.StartWith(t, consultest.Options{HCL: aclHCL, Token: "root"})
	t.Setenv("CONSUL_HTTP_ADDR", acl.Addr())
	t.Setenv("CONSUL_HTTP_TOKEN", "root")
	c := newConsul(t, registry.ConsulOptions{Logger: testLogger(t)})
	w := mustWatch(t, c, serviceName(t))
	reg := mustRegister(t, c, registry.Instance{Service: serviceName(t), ID: "i1", Host: "127.0.0.1", Port: 7300}, registry.RegisterOptions{})
	defer mustDeregister(t, reg)
	waitSnapshot(t, w, "i1", hasIDs("i1"))

	t.Setenv("CONSUL_HTTP_TOKEN", "no-such-token")
	if _, err := registry.NewConsul(registry.ConsulOptions{Logger: testLogger(t)}); !errors.Is(err, registry.ErrAccessDenied) {
		t.Fatalf("NewConsul with a bad CONSUL_HTTP_TOKEN = %v, want ErrAccessDenied", err)
	}
}
