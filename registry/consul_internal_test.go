package registry

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

func TestAgentRegistration(t *testing.T) {
	inst, err := Instance{Service: "s", Host: "10.0.0.1", Port: 80, Weight: 3}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		opts     ConsulOptions
		checks   int
		wantDCSA string
	}{
		{"defaults", ConsulOptions{}, 1, "1m0s"},
		{"tcp check", ConsulOptions{TCPCheck: true}, 2, "1m0s"},
		{"custom reaping", ConsulOptions{DeregisterCriticalServiceAfter: 90 * time.Second}, 1, "1m30s"},
		{"no reaping", ConsulOptions{DeregisterCriticalServiceAfter: -1}, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := agentRegistration(inst, "service:s-1:ttl", tc.opts.withDefaults(), api.HealthPassing, "ok")
			if len(reg.Checks) != tc.checks {
				t.Fatalf("%d checks, want %d", len(reg.Checks), tc.checks)
			}
			for _, ch := range reg.Checks {
				if ch.DeregisterCriticalServiceAfter != tc.wantDCSA {
					t.Errorf("check %s: DeregisterCriticalServiceAfter %q, want %q", ch.CheckID, ch.DeregisterCriticalServiceAfter, tc.wantDCSA)
				}
			}
			ttl := reg.Checks[0]
			if ttl.TTL != "10s" || ttl.Status != api.HealthPassing || ttl.CheckID != "service:s-1:ttl" {
				t.Errorf("TTL check %+v", ttl)
			}
			if tc.opts.TCPCheck {
				if tcp := reg.Checks[1]; tcp.TCP != "10.0.0.1:80" || tcp.Interval != "10s" || tcp.Timeout != "5s" {
					t.Errorf("TCP check %+v", tcp)
				}
			}
			if reg.Weights.Passing != 3 || reg.Meta[MetaWeight] != "3" {
				t.Errorf("weights %+v, meta %v", reg.Weights, reg.Meta)
			}
		})
	}
}
