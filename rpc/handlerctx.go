package rpc

import (
	"context"
	"sync"
	"time"
)

// handlerCtx is the context a handler runs with. It carries the caller's
// deadline and metadata, and is cancelled when the connection closes, the
// server closes, the deadline passes, or the handler returns. The derived
// context (and its timer) is made only if the handler asks for Done or Err.
type handlerCtx struct {
	parent   context.Context // the connection's context
	md       Metadata
	deadline time.Time // zero: the caller set none

	mu       sync.Mutex
	inner    context.Context    // guarded by mu; made on first use
	cancel   context.CancelFunc // guarded by mu
	finished bool               // guarded by mu; the handler returned
}

func newHandlerCtx(parent context.Context, timeout time.Duration, md Metadata) *handlerCtx {
	c := &handlerCtx{parent: parent, md: md}
	if timeout > 0 {
		c.deadline = time.Now().Add(timeout)
	}
	return c
}

func (c *handlerCtx) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }
func (c *handlerCtx) Done() <-chan struct{}       { return c.derived().Done() }
func (c *handlerCtx) Err() error                  { return c.derived().Err() }

func (c *handlerCtx) Value(key any) any {
	if _, ok := key.(incomingKey); ok {
		return c.md
	}
	return c.parent.Value(key)
}

func (c *handlerCtx) derived() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		if c.deadline.IsZero() {
			c.inner, c.cancel = context.WithCancel(c.parent)
		} else {
			c.inner, c.cancel = context.WithDeadline(c.parent, c.deadline)
		}
		if c.finished {
			c.cancel()
		}
	}
	return c.inner
}

// finish cancels the context once the handler has returned.
func (c *handlerCtx) finish() {
	c.mu.Lock()
	c.finished = true
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
}
