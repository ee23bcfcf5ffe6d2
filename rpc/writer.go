package rpc

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// maxIdleWriteBuffer: when the writer goes idle, buffers that grew past this
// are released. While batches keep coming they are kept, however large:
// regrowing them for every batch would cost more than the memory.
const maxIdleWriteBuffer = 256 << 10

// shrinkAfter is how long the writer keeps large buffers without a batch
// that needs them.
const shrinkAfter = time.Second

// frameWriter queues frames from any goroutine and writes them from one, the
// connection's writer goroutine: every frame queued while a write is in
// flight leaves with the next write, in one syscall.
type frameWriter struct {
	nc   net.Conn
	wake chan struct{} // capacity 1; a token means the queue may hold frames

	mu      sync.Mutex
	queue   []byte // guarded by mu: frames waiting to be written, in order
	err     error  // guarded by mu: set once writing stopped; frames are refused after
	writing bool   // guarded by mu: a Write is in progress (the writer's, or writeNow's)
}

func newFrameWriter(nc net.Conn) *frameWriter {
	return &frameWriter{nc: nc, wake: make(chan struct{}, 1)}
}

// enqueue copies frame to the queue. It fails only once the writer stopped.
func (w *frameWriter) enqueue(frame []byte) error {
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	wasEmpty := len(w.queue) == 0
	w.queue = append(w.queue, frame...)
	w.mu.Unlock()
	if wasEmpty {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// writeNow writes frame from the calling goroutine if nothing is queued or
// being written, sparing the writer goroutine a wake-up; otherwise it queues
// it. The server's reader answers pings this way: on an idle connection a
// ping then costs one wake-up instead of two. The caller may block in Write
// as long as the connection's own writes would.
func (w *frameWriter) writeNow(frame []byte) error {
	w.mu.Lock()
	if w.err != nil || w.writing || len(w.queue) > 0 {
		w.mu.Unlock()
		return w.enqueue(frame)
	}
	w.writing = true
	w.mu.Unlock()
	_, err := w.nc.Write(frame)
	w.mu.Lock()
	w.writing = false
	pending := len(w.queue) > 0
	w.mu.Unlock()
	if err != nil {
		w.stop(err)
		return err
	}
	if pending { // queued meanwhile; the writer waited for us
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// stop refuses further frames with err; frames still queued are dropped.
func (w *frameWriter) stop(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.queue = nil
	w.mu.Unlock()
}

// run writes queued frames until done is closed or a write fails, and returns
// the write error (nil when stopped through done). Two buffers alternate: one
// fills while the other is written. Buffers that grew past
// maxIdleWriteBuffer are kept while batches keep coming and released after
// shrinkAfter without one.
func (w *frameWriter) run(done <-chan struct{}) error {
	var spare []byte
	var shrink *time.Timer // armed while a large buffer is held
	defer func() {
		if shrink != nil {
			shrink.Stop()
		}
	}()
	large := false
	for {
		var shrinkC <-chan time.Time
		if large {
			if shrink == nil {
				shrink = time.NewTimer(shrinkAfter)
			} else {
				shrink.Reset(shrinkAfter)
			}
			shrinkC = shrink.C
		}
		select {
		case <-w.wake:
		case <-done:
			return nil
		case <-shrinkC:
			spare, large = nil, false
			w.mu.Lock()
			if len(w.queue) == 0 {
				w.queue = nil
			}
			w.mu.Unlock()
			continue
		}
		// Let goroutines that are already runnable (callers, handlers woken
		// by the same read) queue their frames first, so that they leave in
		// this write. With nothing else runnable this returns at once.
		runtime.Gosched()
		w.mu.Lock()
		if w.writing { // writeNow is writing; it wakes us when done
			w.mu.Unlock()
			continue
		}
		batch := w.queue
		w.queue = spare[:0]
		w.writing = len(batch) > 0
		w.mu.Unlock()
		large = cap(batch) > maxIdleWriteBuffer || cap(spare) > maxIdleWriteBuffer
		if len(batch) == 0 {
			spare = batch
			continue
		}
		_, err := w.nc.Write(batch)
		w.mu.Lock()
		w.writing = false
		w.mu.Unlock()
		if err != nil {
			w.stop(err)
			return err
		}
		spare = batch
	}
}
