package prometheus

import (
	"errors"
	"fmt"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/longlink/longlink/metrics"
)

// DefaultBuckets are the latency histogram buckets, in seconds, when
// Options.Buckets is empty: from 100 µs (a call over loopback) to 10 s.
var DefaultBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Options configure a Recorder. The zero value is ready to use.
type Options struct {
	// Buckets are the upper bounds of the call latency histograms, in
	// seconds, increasing. Default DefaultBuckets.
	Buckets []float64
}

// Recorder is a metrics.Recorder that updates Prometheus collectors. It is
// safe for concurrent use. Make one per registry with NewRecorder.
type Recorder struct {
	clientCalls    *prom.CounterVec
	clientDuration *prom.HistogramVec
	clientInFlight *prom.GaugeVec
	serverCalls    *prom.CounterVec
	serverDuration *prom.HistogramVec
	serverInFlight *prom.GaugeVec
	heartbeats     prom.Counter
	evictions      []prom.Counter // by metrics.EvictReason
	redials        prom.Counter
	dialFailures   prom.Counter
	regUpdates     *prom.CounterVec
	regInstances   *prom.GaugeVec
}

var _ metrics.Recorder = (*Recorder)(nil)

// NewRecorder creates the collectors of the package documentation and
// registers them on reg. Collectors that reg already holds under the same
// names and labels (from an earlier NewRecorder on the same reg) are
// reused, so two recorders on one registry count into the same series. It
// fails if reg holds something else under one of the names.
func NewRecorder(reg prom.Registerer, opts Options) (*Recorder, error) {
	buckets := opts.Buckets
	if len(buckets) == 0 {
		buckets = DefaultBuckets
	}
	callLabels := []string{"service", "method", "outcome"}
	flightLabels := []string{"service", "method"}
	r := &Recorder{}
	var errs []error
	r.clientCalls = register(reg, &errs, prom.NewCounterVec(prom.CounterOpts{
		Name: "longlink_client_calls_total",
		Help: "Client calls completed, retries included, by outcome.",
	}, callLabels))
	r.clientDuration = register(reg, &errs, prom.NewHistogramVec(prom.HistogramOpts{
		Name:    "longlink_client_call_duration_seconds",
		Help:    "Latency of client calls as their callers saw it, retries included.",
		Buckets: buckets,
	}, callLabels))
	r.clientInFlight = register(reg, &errs, prom.NewGaugeVec(prom.GaugeOpts{
		Name: "longlink_client_calls_in_flight",
		Help: "Client calls started and not yet returned.",
	}, flightLabels))
	r.serverCalls = register(reg, &errs, prom.NewCounterVec(prom.CounterOpts{
		Name: "longlink_server_calls_total",
		Help: "Requests whose handler ran, by outcome.",
	}, callLabels))
	r.serverDuration = register(reg, &errs, prom.NewHistogramVec(prom.HistogramOpts{
		Name:    "longlink_server_call_duration_seconds",
		Help:    "Time handlers (and the interceptors after the metrics one) took.",
		Buckets: buckets,
	}, callLabels))
	r.serverInFlight = register(reg, &errs, prom.NewGaugeVec(prom.GaugeOpts{
		Name: "longlink_server_calls_in_flight",
		Help: "Handlers running.",
	}, flightLabels))
	r.heartbeats = register(reg, &errs, prom.NewCounter(prom.CounterOpts{
		Name: "longlink_heartbeats_missed_total",
		Help: "Heartbeat pings a client connection sent that went unanswered for an interval.",
	}))
	evictions := register(reg, &errs, prom.NewCounterVec(prom.CounterOpts{
		Name: "longlink_connection_evictions_total",
		Help: "Connections that left their pool's routing table, by reason.",
	}, []string{"reason"}))
	r.redials = register(reg, &errs, prom.NewCounter(prom.CounterOpts{
		Name: "longlink_redials_total",
		Help: "Connections dialled to replace evicted ones.",
	}))
	r.dialFailures = register(reg, &errs, prom.NewCounter(prom.CounterOpts{
		Name: "longlink_dial_failures_total",
		Help: "Dials (connect and first ping) that failed.",
	}))
	r.regUpdates = register(reg, &errs, prom.NewCounterVec(prom.CounterOpts{
		Name: "longlink_registry_updates_total",
		Help: "Registry snapshots applied by clients.",
	}, []string{"service"}))
	r.regInstances = register(reg, &errs, prom.NewGaugeVec(prom.GaugeOpts{
		Name: "longlink_registry_instances",
		Help: "Providers of the service after the last registry snapshot applied.",
	}, []string{"service"}))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, reason := range metrics.EvictReasons() {
		r.evictions = append(r.evictions, evictions.WithLabelValues(reason.String()))
	}
	return r, nil
}

// register registers c on reg and returns it, or returns the collector of
// the same type that reg already has under c's description. Errors are
// appended to errs.
func register[T prom.Collector](reg prom.Registerer, errs *[]error, c T) T {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prom.AlreadyRegisteredError
	if errors.As(err, &are) {
		if got, ok := are.ExistingCollector.(T); ok {
			return got
		}
		err = fmt.Errorf("a collector of type %T is registered under the same name", are.ExistingCollector)
	}
	*errs = append(*errs, fmt.Errorf("longlink/metrics/prometheus: %w", err))
	return c
}

// ClientCallStart implements metrics.Recorder.
func (r *Recorder) ClientCallStart(service, method string) {
	r.clientInFlight.WithLabelValues(service, method).Inc()
}

// ClientCallEnd implements metrics.Recorder.
func (r *Recorder) ClientCallEnd(service, method string, o metrics.Outcome, d time.Duration) {
	r.clientInFlight.WithLabelValues(service, method).Dec()
	r.clientCalls.WithLabelValues(service, method, o.String()).Inc()
	r.clientDuration.WithLabelValues(service, method, o.String()).Observe(d.Seconds())
}

// ServerCallStart implements metrics.Recorder.
func (r *Recorder) ServerCallStart(service, method string) {
	r.serverInFlight.WithLabelValues(service, method).Inc()
}

// ServerCallEnd implements metrics.Recorder.
func (r *Recorder) ServerCallEnd(service, method string, o metrics.Outcome, d time.Duration) {
	r.serverInFlight.WithLabelValues(service, method).Dec()
	r.serverCalls.WithLabelValues(service, method, o.String()).Inc()
	r.serverDuration.WithLabelValues(service, method, o.String()).Observe(d.Seconds())
}

// HeartbeatMissed implements metrics.Recorder.
func (r *Recorder) HeartbeatMissed(string) { r.heartbeats.Inc() }

// ConnEvicted implements metrics.Recorder.
func (r *Recorder) ConnEvicted(_ string, reason metrics.EvictReason) {
	if int(reason) >= len(r.evictions) {
		reason = metrics.OtherReason
	}
	r.evictions[reason].Inc()
}

// Redialed implements metrics.Recorder.
func (r *Recorder) Redialed(string) { r.redials.Inc() }

// DialFailed implements metrics.Recorder.
func (r *Recorder) DialFailed(string) { r.dialFailures.Inc() }

// RegistryUpdate implements metrics.Recorder.
func (r *Recorder) RegistryUpdate(service string, instances int) {
	r.regUpdates.WithLabelValues(service).Inc()
	r.regInstances.WithLabelValues(service).Set(float64(instances))
}
