package consultest

import (
	"fmt"
	"net"
	"strconv"
)

// ports are the loopback ports of one agent.
type ports struct {
	http, server, serfLAN, serfWAN int
}

// freePorts picks four distinct loopback ports that are free now for TCP and
// UDP (Serf uses both). Another process may still take one before the agent
// binds it; Start retries with new ports when the agent does not come up.
func freePorts() (ports, error) {
	var got []int
	var held []func()
	defer func() {
		for _, release := range held {
			release()
		}
	}()
	for len(got) < 4 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, fmt.Errorf("finding a free port: %w", err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			// Taken for UDP: keep the TCP port held so it is not offered
			// again, and try another.
			held = append(held, func() { tl.Close() })
			continue
		}
		held = append(held, func() { tl.Close(); ul.Close() })
		got = append(got, port)
	}
	return ports{http: got[0], server: got[1], serfLAN: got[2], serfWAN: got[3]}, nil
}
