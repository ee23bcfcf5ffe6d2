package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// serverConn is one accepted connection: a reader that decodes requests and
// starts one goroutine per request, and a writer that coalesces replies.
type serverConn struct {
	srv    *Server
	nc     net.Conn
	peer   string // remote address
	log    *slog.Logger
	fr     *frameReader // owned by the reader goroutine; fr.reads is atomic
	w      *frameWriter
	ctx    context.Context // parent of handler contexts; ended by close
	cancel context.CancelFunc
	done   chan struct{} // closed by close
	once   sync.Once

	inflight atomic.Int64 // requests running

	// Owned by the housekeeper (under srv.mu).
	seenReads   uint64
	silentSince time.Time
	// Owned by Shutdown (under srv.mu); see drainIdle.
	drainReads uint64
	drainSince time.Time
}

func newServerConn(s *Server, nc net.Conn) *serverConn {
	ctx, cancel := context.WithCancel(s.ctx)
	peer := nc.RemoteAddr().String()
	return &serverConn{
		srv:         s,
		nc:          nc,
		peer:        peer,
		log:         s.log.With("peer", peer),
		fr:          newFrameReader(nc, s.opts.MaxFrameSize),
		w:           newFrameWriter(nc),
		ctx:         ctx,
		cancel:      cancel,
		done:        make(chan struct{}),
		silentSince: time.Now(),
	}
}

func (sc *serverConn) announceClosing() {
	var b [headerLen]byte
	_ = sc.w.enqueue(appendClosing(b[:0]))
}

func (sc *serverConn) readLoop() {
	defer sc.srv.loops.Done()
	if tc, ok := sc.nc.(*tls.Conn); ok {
		ctx, cancel := context.WithTimeout(sc.ctx, sc.srv.opts.HandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			sc.close(fmt.Errorf("%w: TLS handshake: %w", errBadPeer, err))
			return
		}
	}
	for {
		h, body, err := sc.fr.next()
		if err != nil {
			sc.close(err)
			return
		}
		switch h.kind {
		case kindRequest:
			sc.dispatch(h.id, body)
		case kindPing:
			var b [headerLen]byte
			if err := sc.w.writeNow(appendPong(b[:0], h.id)); err != nil {
				sc.close(err)
				return
			}
		case kindPong:
		default:
			sc.close(protocolErrorf("unexpected frame kind %d from a client", h.kind))
			return
		}
	}
}

func (sc *serverConn) writeLoop() {
	defer sc.srv.loops.Done()
	if err := sc.w.run(sc.done); err != nil {
		sc.close(err)
	}
}

// close ends the connection once, logging why: protocol errors at warn,
// the rest at debug.
func (sc *serverConn) close(reason error) {
	sc.once.Do(func() {
		sc.w.stop(ErrClosed)
		close(sc.done)
		_ = sc.nc.Close()
		sc.cancel()
		sc.srv.removeConn(sc)
		switch {
		case errors.Is(reason, ErrProtocol), errors.Is(reason, ErrFrameTooLarge), reason == io.ErrUnexpectedEOF, errors.Is(reason, errBadPeer):
			sc.log.Warn("rpc: closing connection: bad input", "reason", reason)
		case reason == errIdle:
			sc.log.Info("rpc: closing idle connection", "idle_timeout", sc.srv.opts.IdleTimeout)
		default:
			sc.log.Debug("rpc: connection closed", "reason", reason)
		}
	})
}

// dispatch answers a request that cannot run at once, or starts its handler.
func (sc *serverConn) dispatch(id uint64, body []byte) {
	q, err := parseRequest(body)
	if err != nil {
		sc.log.Warn("rpc: undecodable request", "err", err)
		sc.replyError(id, StatusBadRequest, "undecodable request: "+err.Error())
		return
	}
	svc := (*sc.srv.services.Load())[string(q.service)]
	if svc == nil {
		sc.replyError(id, StatusUnknownService, fmt.Sprintf("no service %q", q.service))
		return
	}
	m := svc.methods[string(q.method)]
	if m == nil {
		sc.replyError(id, StatusUnknownMethod, fmt.Sprintf("service %q has no method %q", q.service, q.method))
		return
	}
	if auth := sc.srv.opts.Authenticate; auth != nil {
		if err := auth(&ServerInfo{Service: svc.name, Method: m.name, Peer: sc.peer}, q.md); err != nil {
			sc.replyError(id, StatusUnauthenticated, err.Error())
			return
		}
	}
	if max := sc.srv.opts.MaxRequestsPerConn; max > 0 && sc.inflight.Load() >= int64(max) {
		sc.replyError(id, StatusOverloaded, fmt.Sprintf("%d requests running on this connection, its limit", max))
		return
	}
	arg := m.newArg()
	if err := decodeValidated(q.arg, arg); err != nil {
		sc.replyError(id, StatusBadRequest, fmt.Sprintf("decoding argument of %s.%s: %v", svc.name, m.name, err))
		return
	}
	if n := m.active.Add(1); sc.srv.opts.Executes > 0 && n > int64(sc.srv.opts.Executes) {
		m.active.Add(-1)
		sc.replyError(id, StatusOverloaded, fmt.Sprintf("%s.%s is running %d calls, its limit", svc.name, m.name, sc.srv.opts.Executes))
		return
	}
	sc.inflight.Add(1)
	sc.srv.handlers.Add(1)
	sc.srv.startTask(task{sc: sc, id: id, svc: svc, m: m, arg: arg, ctx: newHandlerCtx(sc.ctx, q.timeout, q.md)})
}

// run executes one request and queues its reply.
func (sc *serverConn) run(t task) {
	defer sc.srv.handlers.Done()
	defer sc.inflight.Add(-1)
	defer t.m.active.Add(-1)

	id := t.id
	result, err := sc.invoke(t.svc, t.m, t.arg, t.ctx)
	t.ctx.finish()
	e := getEncoder()
	defer putEncoder(e)
	switch {
	case err != nil:
		var pe *panicError
		switch {
		case errors.As(err, &pe):
			e.appendError(id, StatusInternal, err.Error())
		case errors.Is(err, context.DeadlineExceeded):
			e.appendError(id, StatusDeadline, err.Error())
		default:
			e.appendError(id, StatusApplication, err.Error())
		}
	default:
		if err := e.appendResponse(id, result); err != nil {
			e.b = e.b[:0]
			e.appendError(id, StatusInternal, err.Error())
		} else if n := len(e.b) - headerLen; n > sc.srv.opts.MaxFrameSize {
			e.b = e.b[:0]
			e.appendError(id, StatusInternal, fmt.Sprintf("reply of %d bytes exceeds the frame limit of %d", n, sc.srv.opts.MaxFrameSize))
		}
	}
	_ = sc.w.enqueue(e.b)
}

// invoke calls the handler, turning a panic into an error.
func (sc *serverConn) invoke(svc *service, m *method, arg any, ctx *handlerCtx) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			sc.log.Error("rpc: handler panicked", "method", svc.name+"."+m.name, "panic", p, "stack", string(debug.Stack()))
			err = &panicError{value: p}
		}
	}()
	if ics := sc.srv.opts.Interceptors; len(ics) > 0 {
		info := &ServerInfo{Service: svc.name, Method: m.name, Peer: sc.peer}
		return chain(ics, info, func(hctx context.Context, a any) (any, error) {
			return m.call(hctx, svc, a)
		})(ctx, m.declared(arg))
	}
	return m.call(ctx, svc, arg)
}

// errBadPeer marks a connection closed because the peer failed to set it up
// (a TLS handshake), which is logged like bad input.
var errBadPeer = errors.New("peer refused")

type panicError struct{ value any }

func (e *panicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.value) }

func (sc *serverConn) replyError(id uint64, st Status, msg string) {
	e := getEncoder()
	e.appendError(id, st, msg)
	_ = sc.w.enqueue(e.b)
	putEncoder(e)
}
