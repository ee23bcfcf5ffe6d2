package registry

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoffDelay returns the pause after the failures-th consecutive failure
// (failures >= 1): base doubled per failure and capped at max, of which a
// random part is taken ("equal jitter": between half and all of it), so that
// many clients that failed together do not retry together, while the pause
// never drops below half the nominal one.
func backoffDelay(base, max time.Duration, failures int) time.Duration {
	d := base
	for k := 1; k < failures && d < max; k++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleepCtx pauses for d, or less if ctx ends first; it reports whether the
// full pause elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
