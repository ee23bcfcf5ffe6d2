package rpc

import (
	"fmt"
	"time"
)

// heartbeatLoop checks every HeartbeatInterval whether anything was read
// since the previous check. After one silent interval it pings (the pong, or
// any other frame, is liveness); after MaxMissedHeartbeats silent intervals in
// a row it fails the connection with ErrHeartbeatTimeout. A peer that goes
// silent right after a check is thus declared dead between
// MaxMissedHeartbeats and MaxMissedHeartbeats+1 intervals later.
//
// An interval counts as silent only if the reader spent all of it waiting
// inside one Read. If it did not, it was busy with what it had read, or
// starved of CPU (a long decode, a GC pause, a throttled container), and
// that is no sign of the peer's death.
func (c *Conn) heartbeatLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.HeartbeatInterval)
	defer t.Stop()
	last, lastWaits, missed := c.fr.reads.Load(), c.fr.waits.Load(), 0
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		r, w := c.fr.reads.Load(), c.fr.waits.Load()
		if r != last || w != lastWaits || !c.fr.waiting.Load() {
			last, lastWaits, missed = r, w, 0
			continue
		}
		missed++
		if missed == 1 {
			c.log.Debug("rpc: idle; pinging")
		} else {
			c.log.Debug("rpc: heartbeat missed", "missed", missed-1, "silent_intervals", missed, "of", c.opts.MaxMissedHeartbeats)
		}
		if f := c.opts.OnHeartbeatMissed; f != nil {
			f(c, missed)
		}
		if missed >= c.opts.MaxMissedHeartbeats {
			c.fail(&ConnError{Addr: c.addr, Reason: ErrHeartbeatTimeout,
				Err: fmt.Errorf("nothing read for %d intervals of %v", missed, c.opts.HeartbeatInterval)})
			return
		}
		c.pingSent.CompareAndSwap(0, nanotime())
		c.pings.Add(1)
		var b [headerLen]byte
		_ = c.w.enqueue(appendPing(b[:0], c.nextID.Add(1)))
	}
}

// nanotime is a monotonic clock reading in nanoseconds.
func nanotime() int64 { return int64(time.Since(epoch)) }

var epoch = time.Now()
