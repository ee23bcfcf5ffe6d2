// Package prometheus exports longlink's metrics to Prometheus: a
// metrics.Recorder made of counters, gauges and histograms (NewRecorder),
// and a collector that reads connections and pools by state from
// pool.Manager snapshots at scrape time (NewPoolCollector). It is the only
// package of longlink that imports github.com/prometheus/client_golang.
//
//	reg := prometheus.NewRegistry() // client_golang's
//	rec, err := longlinkprom.NewRecorder(reg, longlinkprom.Options{})
//	m := pool.NewManager(pool.Options{Metrics: rec})
//	reg.MustRegister(longlinkprom.NewPoolCollector(m))
//	c, err := longlink.NewClient(r, "Greeter", longlink.ClientOptions{Pool: m, Metrics: rec})
//	srv := rpc.NewServer(rpc.ServerOptions{Interceptors: []rpc.ServerInterceptor{metrics.ServerInterceptor(rec)}})
//
// # Metrics
//
// Calls (labels service, method; outcome as metrics.Outcome's String:
// ok, application_error, server_error, transport_error, timeout, canceled,
// limit_exceeded, no_provider, other):
//
//	longlink_client_calls_total{service,method,outcome}             counter
//	longlink_client_call_duration_seconds{service,method,outcome}   histogram
//	longlink_client_calls_in_flight{service,method}                 gauge
//	longlink_server_calls_total{service,method,outcome}             counter
//	longlink_server_call_duration_seconds{service,method,outcome}   histogram
//	longlink_server_calls_in_flight{service,method}                 gauge
//
// Connections (no address label: a process may talk to many providers, and
// Stats or the statshttp handler give the per-address view):
//
//	longlink_heartbeats_missed_total                    counter
//	longlink_connection_evictions_total{reason}         counter: heartbeat_timeout, conn_lost, draining, protocol_error, closed, other
//	longlink_redials_total                              counter
//	longlink_dial_failures_total                        counter
//	longlink_registry_updates_total{service}            counter: snapshots applied
//	longlink_registry_instances{service}                gauge: providers after the last snapshot
//	longlink_connections{state}                         gauge at scrape: ready, draining
//	longlink_pools{state}                               gauge at scrape: idle, connecting, ready, backing_off, draining, closed
//
// Every state and eviction reason is exported from the start, at zero, so
// that rate() and alerts see a series before the first event.
//
// Several clients of one service in a process share the call series and
// the registry gauge (the last snapshot applied wins). To tell processes or
// clients apart, add constant labels or a prefix with client_golang's
// prometheus.WrapRegistererWith and WrapRegistererWithPrefix.
//
// # Non-goals
//
// No HTTP exposition (use promhttp), no push gateway, no per-address or
// per-connection series, no OpenTelemetry.
package prometheus
