// Command consul runs the HashiCorp Consul agent command, built from Go modules.
//
// It exists so that longlink's tests and examples can start a real Consul
// agent on a machine without a Consul package. The library never imports it:
// this directory is a separate Go module, so the library's go.mod never sees
// Consul's dependency graph. Build it through scripts/consul-agent, which caches
// the binary. Arguments are the agent's flags, for example:
//
//	consul -dev -client 127.0.0.1 -http-port 8500 -grpc-port -1 -dns-port -1
//
// Consul is under the Business Source License; this tool only runs it locally.
package main

import (
	"os"

	"github.com/hashicorp/consul/command/agent"
	consulcli "github.com/hashicorp/consul/command/cli"
	mcli "github.com/mitchellh/cli"
)

func main() {
	ui := &consulcli.BasicUI{BasicUi: mcli.BasicUi{
		Reader:      os.Stdin,
		Writer:      os.Stdout,
		ErrorWriter: os.Stderr,
	}}
	os.Exit(agent.New(ui).Run(os.Args[1:]))
}
