package rpc

import (
	"math"
	"time"
)

// workerIdle is about how long a spare worker goroutine lives without work:
// every workerIdle, the housekeeper retires as many workers as were spare at
// every one of its looks since the last retirement.
const workerIdle = 10 * time.Second

// task is one request ready to run, or (sc nil) a request to retire.
type task struct {
	sc  *serverConn
	id  uint64
	svc *service
	m   *method
	arg any // from method.newArg, decoded
	ctx *handlerCtx
}

// Requests run on worker goroutines that the server keeps: a request goes to
// a worker waiting for one, or starts a new worker. A worker outlives its
// request, keeping its grown stack, so there is no goroutine creation, nor
// stack growth, per request once the server is warm, and never a queue: each
// request runs at once. A waiting worker selects on two channels only; no
// timer is armed per request. Spare workers are retired by the housekeeper
// (retireSpare), and all of them end when the server closes.
func (s *Server) startTask(t task) {
	select {
	case s.tasks <- t: // an idle worker took it
	default:
		s.loops.Add(1)
		go s.worker(t)
	}
}

func (s *Server) worker(t task) {
	defer s.loops.Done()
	for {
		t.sc.run(t)
		s.spareWorkers.Add(1)
		select {
		case t = <-s.tasks:
		case <-s.ctx.Done():
			s.spareWorkers.Add(-1)
			return
		}
		s.spareWorkers.Add(-1)
		if t.sc == nil {
			return
		}
	}
}

// workerRetirement is the housekeeper's account of spare workers.
type workerRetirement struct {
	minSpare int64     // fewest spare workers seen since last
	last     time.Time // the last retirement
}

// retireSpare records the spare workers now and, once workerIdle has passed since
// the last retirement, retires the fewest seen meanwhile: workers that no
// burst of requests needed during the whole period.
func (s *Server) retireSpare(r *workerRetirement, now time.Time) {
	if r.last.IsZero() {
		r.last, r.minSpare = now, math.MaxInt64
	}
	r.minSpare = min(r.minSpare, s.spareWorkers.Load())
	if now.Sub(r.last) < workerIdle {
		return
	}
	for n := r.minSpare; n > 0; n-- {
		select {
		case s.tasks <- task{}:
		default: // none waiting now: they are busy again
			n = 0
		}
	}
	r.last, r.minSpare = now, math.MaxInt64
}
