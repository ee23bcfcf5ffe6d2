package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/longlink/longlink/rpc"
)

// A peer that reads nothing and sends nothing (a frozen process, a path that
// drops every packet) is declared dead between MaxMissedHeartbeats and
// MaxMissedHeartbeats+1 intervals after its last byte, and the pending call
// fails with a heartbeat timeout that is a net.Error.
func TestHeartbeatDeclaresSilentPeerDead(t *testing.T) {
	tests := []struct {
		interval time.Duration
		missed   int
	}{
		{time.Second, 0}, // default: 3
		{2 * time.Second, 1},
		{100 * time.Millisecond, 5},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v x %d", tc.interval, tc.missed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				missed := tc.missed
				if missed == 0 {
					missed = rpc.DefaultMaxMissedHeartbeats
				}
				client, peer := net.Pipe()
				defer peer.Close()
				start := time.Now()
				var misses []int
				c := rpc.NewConn(client, rpc.ClientOptions{HeartbeatInterval: tc.interval, MaxMissedHeartbeats: tc.missed, Logger: quietLogger,
					OnHeartbeatMissed: func(_ *rpc.Conn, n int) { misses = append(misses, n) }})
				defer c.Close()
				call := c.Go(context.Background(), "Arith", "Add", &Args{}, new(Reply), nil)

				<-c.Done()
				elapsed := time.Since(start)
				if lo, hi := time.Duration(missed)*tc.interval, time.Duration(missed+1)*tc.interval; elapsed < lo || elapsed > hi {
					t.Fatalf("declared dead after %v, want within [%v, %v]", elapsed, lo, hi)
				}
				if len(misses) != missed || misses[0] != 1 || misses[missed-1] != missed {
					t.Fatalf("OnHeartbeatMissed saw %v, want 1..%d", misses, missed)
				}
				err := (<-call.Done).Error
				var ne net.Error
				if !errors.Is(err, rpc.ErrHeartbeatTimeout) || !errors.As(err, &ne) || !ne.Timeout() || !rpc.Retryable(err) {
					t.Fatalf("pending call: %v; want a retryable heartbeat timeout satisfying net.Error", err)
				}
			})
		})
	}
}

// A peer that answers pings keeps an idle connection alive indefinitely, at
// a cost of one ping every two intervals; when it stops answering, the
// connection is declared dead within the bound.
func TestHeartbeatKeepsLivePeerAndDropsItWhenItStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = time.Second
		client, peer := net.Pipe()
		c := rpc.NewConn(client, rpc.ClientOptions{HeartbeatInterval: interval, Logger: quietLogger})
		defer c.Close()
		stop := make(chan struct{})
		answered := make(chan struct{})
		go func() {
			defer close(answered)
			fr := rpc.NewFrameReader(peer, 1<<20)
			for {
				h, _, err := fr.Next()
				if err != nil {
					return
				}
				select {
				case <-stop:
					return // stop answering, keep the socket open
				default:
				}
				if rpc.HeaderKind(h) == rpc.KindPing {
					peer.Write(rpc.AppendPong(nil, rpc.HeaderID(h)))
				}
			}
		}()

		time.Sleep(100 * interval)
		if st := c.Stats(); st.State != rpc.StateReady || st.Pings < 45 || st.Pings > 55 {
			t.Fatalf("after 100 idle intervals: %+v; want ready, about 50 pings", st)
		}
		close(stop)
		silentFrom := time.Now()
		<-c.Done()
		if silent := time.Since(silentFrom); silent > time.Duration(rpc.DefaultMaxMissedHeartbeats+1)*interval {
			t.Fatalf("declared dead %v after the peer stopped answering", silent)
		}
		if !errors.Is(c.Err(), rpc.ErrHeartbeatTimeout) {
			t.Fatalf("Err() = %v", c.Err())
		}
		peer.Close()
		<-answered
	})
}

// The same over real TCP: the peer accepts and then neither reads nor writes.
func TestHeartbeatDetectsFrozenPeerOverTCP(t *testing.T) {
	accepted := make(chan net.Conn, 1)
	addr := rawPeer(t, func(nc net.Conn) { accepted <- nc }) // then silent
	c := dial(t, addr, rpc.ClientOptions{HeartbeatInterval: 20 * time.Millisecond})
	receive(t, accepted, longWait, "accept")
	call := c.Go(context.Background(), "Arith", "Add", &Args{}, new(Reply), nil)
	receive(t, c.Done(), longWait, "the frozen peer to be declared dead")
	if err := (<-call.Done).Error; !errors.Is(err, rpc.ErrHeartbeatTimeout) {
		t.Fatalf("pending call: %v", err)
	}
	if st := c.Stats(); st.Pings < 2 {
		t.Fatalf("%d pings sent before giving up", st.Pings)
	}
}

// A live server answers pings, and the round trip is measured.
func TestHeartbeatRoundTripMeasured(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{}, newArith())
	c := dial(t, addr, rpc.ClientOptions{HeartbeatInterval: 5 * time.Millisecond})
	waitFor(t, longWait, "a heartbeat round trip", func() bool { return c.Stats().LastHeartbeatRTT > 0 })
	if c.State() != rpc.StateReady {
		t.Fatalf("state %v", c.State())
	}
}

// slowReply takes a while to decode, like a huge result would.
type slowReply struct{ took time.Duration }

func (s *slowReply) DecodeMsgpack(dec *msgpack.Decoder) error {
	time.Sleep(s.took)
	return dec.Skip()
}

// Silence while the reader is busy with what it has read is not the peer's
// silence: the connection is declared dead only after the reader has waited
// MaxMissedHeartbeats intervals for the peer.
func TestHeartbeatIgnoresTheReadersOwnDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = time.Second
		client, peer := net.Pipe()
		defer peer.Close()
		c := rpc.NewConn(client, rpc.ClientOptions{HeartbeatInterval: interval, Logger: quietLogger})
		defer c.Close()
		go func() { // answer the first request, then fall silent, reading on
			fr := rpc.NewFrameReader(peer, 1<<20)
			h, _, err := fr.Next()
			if err != nil {
				return
			}
			peer.Write(rpc.AppendResponse(rpc.HeaderID(h), &Reply{C: 1}))
			for {
				if _, _, err := fr.Next(); err != nil {
					return
				}
			}
		}()
		start := time.Now()
		if err := c.Call(context.Background(), "Arith", "Add", &Args{}, &slowReply{took: 10 * interval}); err != nil {
			t.Fatalf("the call whose reply took 10 intervals to decode: %v", err)
		}
		decoded := time.Since(start)
		<-c.Done()
		if waited := time.Since(start) - decoded; waited < 3*interval || waited > 4*interval {
			t.Fatalf("declared dead %v after the reader went back to waiting, want within [3s, 4s]", waited)
		}
		if !errors.Is(c.Err(), rpc.ErrHeartbeatTimeout) {
			t.Fatalf("Err() = %v", c.Err())
		}
	})
}
