// Package consultest starts real HashiCorp Consul agents for tests.
//
// Start builds the agent once per machine (through scripts/consul-agent, which
// caches the binary under ${XDG_CACHE_HOME:-$HOME/.cache}/longlink), starts a
// -dev agent on free loopback ports (HTTP, server RPC, Serf LAN and WAN; gRPC,
// gRPC-TLS and DNS disabled), waits until it has elected itself leader and
// stops it when the test ends. Each Agent is a cluster of its own: tests of
// different packages can run agents side by side.
//
// Stop and Restart simulate an outage. A -dev agent keeps its state in memory
// only, so after Restart it knows no services: providers must register again,
// as they must after a real agent loses its data.
//
// When the agent cannot be built or started the test is skipped with the
// reason, except when the environment variable CI is "true": there it fails.
// LONGLINK_CONSUL_BIN, when set, names an agent binary to use instead of
// building one.
//
// The agent's output goes to a file that is shown (its tail) only when the
// test fails, so passing tests stay quiet.
package consultest
