package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The quickstart must show what it claims: failover with no failed call,
// the frozen provider evicted by heartbeats, everyone back in rotation.
func TestQuickstart(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, options{heartbeat: 100 * time.Millisecond, phase: 300 * time.Millisecond}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		`KILLED alpha`,
		`after killing alpha: failover: calls so far \d+, failed 0`,
		`alpha +backing off`,
		`EVICTED beta after \d+`,
		`while beta is frozen: .* beta 0, gamma \d+`,
		`all three back in rotation: calls so far \d+, failed 0`,
		`done: \d+ calls, 0 failed`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
