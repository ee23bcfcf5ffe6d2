package pool

import (
	"time"

	"github.com/longlink/longlink/rpc"
)

// Stats is a snapshot of a Pool.
type Stats struct {
	Addr         string
	State        State
	Size         int             // connections wanted
	Connections  []rpc.ConnStats // ready connections, then draining ones
	Dialling     int             // dials in progress (puddle's constructing resources)
	Dials        uint64          // dials attempted
	DialFailures uint64          // dials that failed
	Redials      uint64          // successful dials that replaced an evicted connection
	Evictions    uint64          // connections that failed or drained out of the table
	LastError    error           // the last dial error while backing off, else nil
	RetryIn      time.Duration   // while backing off, until the next dial
}

// Stats returns a snapshot of the pool.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	s := Stats{
		Addr:         p.addr,
		State:        p.stateLocked(),
		Size:         p.size,
		Dials:        p.counts.dials,
		DialFailures: p.counts.failed,
		Redials:      p.counts.redials,
		Evictions:    p.evictions.Load(),
		LastError:    p.lastErr,
	}
	if !p.retryAt.IsZero() {
		s.RetryIn = max(time.Until(p.retryAt), 0)
	}
	conns := append([]*rpc.Conn(nil), *p.table.Load()...)
	for c := range p.draining {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		s.Connections = append(s.Connections, c.Stats())
	}
	s.Dialling = int(p.pp.Stat().ConstructingResources())
	return s
}
