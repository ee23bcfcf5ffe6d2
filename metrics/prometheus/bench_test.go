package prometheus_test

import (
	"context"
	"testing"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/metrics"
)

// The cost of recording a client call, over loopback: no recorder, a Nop
// one, Prometheus (the provider records its side in all three). Compare
// allocs/op: recording adds none.
func BenchmarkClientCall(b *testing.B) {
	for _, bc := range []struct {
		name string
		rec  func(e *env) metrics.Recorder
	}{
		{"none", func(*env) metrics.Recorder { return nil }},
		{"nop", func(*env) metrics.Recorder { return metrics.Nop{} }},
		{"prometheus", func(e *env) metrics.Recorder { return e.rec }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b)
			e.startProvider(b)
			c, err := longlink.NewClient(e.names, "Echo", longlink.ClientOptions{Pool: e.pools, Metrics: bc.rec(e), Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if err := call(ctx, c, "Echo"); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				v, out := 1, 0
				for pb.Next() {
					if err := c.Call(ctx, "Echo", &v, &out); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
