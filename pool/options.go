package pool

import (
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/longlink/longlink/metrics"
	"github.com/longlink/longlink/rpc"
)

// Options configure a Manager. The zero value is ready to use: every zero
// field means the default it documents.
type Options struct {
	// Conn configures every connection: heartbeats, frame size, dial
	// timeout, TLS through its Dial. Zero value: rpc's defaults. Its
	// OnStateChange, if set, is called after the pool's own; its
	// OnHeartbeatMissed, if set, after Metrics.HeartbeatMissed.
	Conn rpc.ClientOptions
	// Backoff spaces out failed dials to one address.
	Backoff Backoff
	// DrainTimeout bounds how long a closing Pool waits for in-flight calls
	// before it closes their connections. Default 10 s.
	DrainTimeout time.Duration
	// Logger receives connection lifecycle records: dialling, connected and
	// closing at debug; redialled (a connection replaced after an eviction
	// or failed dials) and provider draining at info; evicted, dial failed
	// and backing off at warn. A healthy pool logs nothing at info or above.
	// Default slog.Default().
	Logger *slog.Logger
	// Metrics receives heartbeats missed (pings unanswered for an interval),
	// evictions with their reason, redials and dial failures of every
	// connection of the Manager's pools. Default nil: nothing is recorded
	// (and nothing is spent on it).
	Metrics metrics.Recorder
}

// DefaultDrainTimeout is Options.DrainTimeout's default.
const DefaultDrainTimeout = 10 * time.Second

func (o Options) withDefaults() Options {
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Conn.Logger == nil {
		o.Conn.Logger = o.Logger
	}
	o.Backoff = o.Backoff.withDefaults()
	return o
}

// Backoff is the delay between failed dials, as in gRPC's connection
// backoff: Base after the first failure, multiplied by Multiplier after each
// further one, at most Max, each delay spread by +-Jitter. The zero value is
// gRPC's: 1 s, x1.6, +-20 %, 120 s.
type Backoff struct {
	Base       time.Duration // delay after the first failure; default 1 s
	Multiplier float64       // growth per further failure; default 1.6
	Jitter     float64       // relative spread, 0.2 = +-20 %; default 0.2; negative means none
	Max        time.Duration // cap before jitter; default 120 s
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = time.Second
	}
	if b.Multiplier < 1 {
		b.Multiplier = 1.6
	}
	if b.Jitter == 0 {
		b.Jitter = 0.2
	} else if b.Jitter < 0 {
		b.Jitter = 0
	}
	if b.Max <= 0 {
		b.Max = 120 * time.Second
	}
	return b
}

// Delay returns the wait after the given number of consecutive failures (>= 1).
func (b Backoff) Delay(failures int) time.Duration {
	b = b.withDefaults()
	d := float64(b.Base)
	for i := 1; i < failures && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	d *= 1 + b.Jitter*(2*rand.Float64()-1)
	return time.Duration(d)
}
