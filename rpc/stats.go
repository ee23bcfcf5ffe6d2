package rpc

import "time"

// ConnStats is a snapshot of a client connection.
type ConnStats struct {
	Addr             string        // dialled address
	State            ConnState     // ready, draining or closed
	InFlight         int           // calls waiting for a reply
	Calls            uint64        // calls sent
	Failures         uint64        // calls that ended in anything but a result or an application error
	Pings            uint64        // heartbeat pings sent
	LastHeartbeatRTT time.Duration // round trip of the last answered ping; 0 before the first
	Err              error         // why the connection closed; nil while open
}

// Stats returns a snapshot of the connection's counters.
func (c *Conn) Stats() ConnStats {
	c.mu.Lock()
	inflight, err := len(c.pending), c.err
	c.mu.Unlock()
	return ConnStats{
		Addr:             c.addr,
		State:            c.State(),
		InFlight:         inflight,
		Calls:            c.calls.Load(),
		Failures:         c.failures.Load(),
		Pings:            c.pings.Load(),
		LastHeartbeatRTT: time.Duration(c.rtt.Load()),
		Err:              err,
	}
}
