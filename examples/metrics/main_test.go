package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"go.uber.org/goleak"
)

// The example serves real metrics and stats, scrapes them and ends by
// itself.
func TestExample(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, options{listen: "127.0.0.1:0", calls: 20}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		`serving http://127\.0\.0\.1:\d+/metrics`,
		`made 20 calls: 18 ok, 2 failed`,
		`longlink_client_calls_total\{method="Hello",outcome="ok",service="Greeter"\} 18`,
		`longlink_client_calls_total\{method="Hello",outcome="application_error",service="Greeter"\} 2`,
		`longlink_server_calls_total\{method="Hello",outcome="ok",service="Greeter"\} 18`,
		`longlink_connections\{state="ready"\} 1`,
		`longlink_registry_instances\{service="Greeter"\} 1`,
		`Greeter at 127\.0\.0\.1:\d+: ready, 20 calls, 1 connection\(s\)`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
