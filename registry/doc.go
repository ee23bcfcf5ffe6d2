// Package registry announces providers and lets consumers follow them.
//
// A Registry registers provider instances (service name, address, tags,
// weight, version, group, metadata) and watches the healthy instances of a
// service, each update a full snapshot. The interface is small enough for
// etcd or Nacos to implement later.
//
// Three implementations come with the package:
//
//   - Static (NewStatic, NewStaticInstances): a fixed list per service, from
//     configuration. Register announces nothing.
//   - Memory (NewMemory): in-process; providers and consumers in one process.
//     Health is checked at Register, every MemoryOptions.HealthInterval and on
//     Memory.CheckHealth.
//   - Consul (NewConsul): HashiCorp Consul through the local agent: a TTL
//     check kept fresh by the Registration, blocking queries on the health
//     endpoint for watches, backoff with jitter while Consul is down.
//
// Watchers of all three deliver snapshots sorted by instance ID, only when
// the content (not the order) differs from the snapshot delivered last. A
// snapshot belongs to the caller. Every goroutine a registry starts belongs
// to a Registration or a Watcher (or, for Consul, to the registry itself) and
// has stopped when Deregister or Close returns.
//
// Errors: the sentinel errors in registry.go, wrapped with the details;
// test with errors.Is.
//
// Logging: through log/slog (ConsulOptions.Logger); nothing is printed.
//
// Non-goals: configuration storage, key/value watches, and routing rules;
// consumers filter and weight instances themselves.
package registry
