package main

import (
	"errors"
	"net"
	"runtime"
	"sync"
)

var errWriterStopped = errors.New("writer stopped")

// coalescer queues frames from any goroutine and writes them from one: every
// frame queued while a write is in flight leaves with the next write, in one
// syscall. It is the raw echo's writer, on both ends.
type coalescer struct {
	nc   net.Conn
	wake chan struct{} // capacity 1: a token means the queue may hold frames

	mu      sync.Mutex
	queue   []byte // guarded by mu
	stopped bool   // guarded by mu
}

func newCoalescer(nc net.Conn) *coalescer {
	return &coalescer{nc: nc, wake: make(chan struct{}, 1)}
}

// enqueue appends the frame parts to the queue (copying them).
func (w *coalescer) enqueue(parts ...[]byte) error {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return errWriterStopped
	}
	wasEmpty := len(w.queue) == 0
	for _, p := range parts {
		w.queue = append(w.queue, p...)
	}
	w.mu.Unlock()
	if wasEmpty {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// run writes queued frames until done is closed or a write fails. Two
// buffers alternate: one fills while the other is written.
func (w *coalescer) run(done <-chan struct{}) {
	defer func() {
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
	}()
	var spare []byte
	for {
		select {
		case <-w.wake:
		case <-done:
			return
		}
		// Let goroutines that are already runnable queue their frames
		// first, so that they leave in this write (longlink's writer does
		// the same; without it the raw echo makes about 6x the write
		// system calls and runs at about half the speed).
		runtime.Gosched()
		w.mu.Lock()
		batch := w.queue
		w.queue = spare[:0]
		w.mu.Unlock()
		if len(batch) > 0 {
			if _, err := w.nc.Write(batch); err != nil {
				return
			}
		}
		spare = batch
	}
}
