package rpc

import "time"

// workerIdle is how long a worker goroutine waits for another request
// before it exits.
const workerIdle = 10 * time.Second

// task is one request ready to run.
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
// request, keeping its grown stack, and exits after workerIdle without work
// or when the server closes. So there is no goroutine creation, nor stack
// growth, per request once the server is warm, and never a queue: each
// request runs at once.
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
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		t.sc.run(t)
		idle.Reset(workerIdle)
		select {
		case t = <-s.tasks:
		case <-idle.C:
			return
		case <-s.ctx.Done():
			return
		}
	}
}
