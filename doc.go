// Package longlink is an RPC client and provider for long-lived,
// heartbeat-checked connections, in the style of Apache Dubbo.
//
// A consumer creates a Client for a service from a registry.Registry
// (Consul, or an in-process or static one) and calls its methods:
//
//	c, err := longlink.NewClient(reg, "Greeter", longlink.ClientOptions{})
//	err = c.Call(ctx, "Hello", &HelloRequest{Name: "gopher"}, &reply)
//
// The client follows the healthy providers of the service as the registry
// reports them, keeps one long connection per provider address (shared by
// every client in the process, or N of its own with Connections), and on
// each call picks a provider (weighted random, round robin, least active or
// consistent hash), optionally sticking to it. A call that fails in
// transport is retried on another provider (failover) within its deadline;
// a provider's own errors are returned as they are.
//
// Connections send heartbeats: a provider that goes silent (frozen, or
// behind a path that drops packets) is detected within HeartbeatInterval x
// (MaxMissedHeartbeats+1), 8 s by default, evicted, and redialled in the
// background with backoff while calls go to the other providers. A provider
// that shuts down gracefully announces it; consumers stop sending it new
// calls at once and its in-flight calls complete.
//
// Observability: ClientOptions.Interceptors and rpc.ServerOptions.Interceptors
// wrap calls; ClientOptions.Metrics and pool.Options.Metrics feed a
// metrics.Recorder (package metrics/prometheus exports one); Client.Stats and
// pool.Manager.Stats snapshot every provider and connection, and package
// statshttp serves them as JSON.
//
// Layers: package rpc is the transport (frames, multiplexed connections,
// server); package pool keeps the connections per provider address; package
// registry announces and discovers providers. This package routes calls over
// them (Client) and runs a provider's lifecycle (Provider).
//
// Non-goals: streaming calls, codecs other than MessagePack, routing rules
// beyond version and group, and configuration centres.
package longlink
