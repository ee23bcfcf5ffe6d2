// Package registry announces providers and lets consumers follow them.
//
// A Registry registers provider instances (service name, address, tags,
// weight, version, group, metadata) and watches the healthy instances of a
// service, each update a full snapshot. The interface is small enough for
// etcd or Nacos to implement later.
//
// Non-goals: configuration storage, key/value watches, and routing rules;
// consumers filter and weight instances themselves.
package registry
