package rpc

import (
	"sync"
	"time"
)

// Call is an RPC in flight or completed, as Conn.Go returns it.
type Call struct {
	Service string     // service name
	Method  string     // method name
	Args    any        // the argument
	Reply   any        // a pointer the result is decoded into
	Error   error      // the outcome, once complete
	Done    chan *Call // receives the call itself when it completes

	id    uint64        // request id, set when sent
	sig   chan struct{} // synchronous calls: receives one token on completion
	timer *time.Timer   // synchronous calls with a deadline of their own; reused
	stop  func() bool   // asynchronous calls: unregisters the context watch
}

// complete signals the call's completion to whoever waits for it. It is
// called exactly once, by whoever removed the call from the pending map.
func (call *Call) complete() {
	if call.stop != nil {
		call.stop()
	}
	if call.sig != nil {
		call.sig <- struct{}{}
		return
	}
	select {
	case call.Done <- call:
	default:
		// Go checked that Done is buffered; a full channel is the caller's
		// error, as in net/rpc. The call is dropped rather than block the reader.
	}
}

// callPool recycles synchronous calls: Conn.Call returns one only once no
// goroutine of the connection can reach it any more. Each connection has
// its own pool, so that a call's channel never outlives the connection it
// was made for (which also keeps each testing/synctest bubble's channels in
// that bubble).
type callPool struct{ p sync.Pool }

func (cp *callPool) get() *Call {
	if call, ok := cp.p.Get().(*Call); ok {
		return call
	}
	return &Call{sig: make(chan struct{}, 1)}
}

func (cp *callPool) put(call *Call) {
	sig, timer := call.sig, call.timer
	*call = Call{sig: sig, timer: timer}
	cp.p.Put(call)
}
