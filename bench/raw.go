package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/longlink/longlink/internal/benchmsg"
)

// The raw echo is the practical ceiling of one connection: frames of a
// 4-byte length (of what follows), an 8-byte id, a 1-byte message kind and
// the payload; one coalescing writer per end; a client reader that hands
// each reply to its waiting caller through a pending map; a server that
// echoes every frame as it is, without decoding it or dispatching anything.
// The client encodes its request and decodes the reply with MessagePack, as
// every RPC client here must (flag -raw-codec=false sends pre-encoded bytes
// instead).
//
// raw-rpc is the same with the server's share of an RPC's codec work added:
// its reader decodes each request into a new value of the kind's type and
// encodes that as the reply, inline (no dispatch, no goroutine per request).
// longlink's distance from raw-rpc is its own overhead beyond the codec.

const rawHeaderLen = 13

// Message kinds in the frame header.
const (
	rawKindMessage byte = 1
	rawKindTiny    byte = 2
)

var rawSpace [rawHeaderLen]byte // where an encoded frame's header goes

var errRawClosed = errors.New("raw: connection closed")

// rawSystem is a raw echo server and one client connection to it.
type rawSystem struct {
	srv   *rawServer
	cli   *rawClient
	codec bool // encode and decode with MessagePack per call
}

// rawSpec is the raw echo; with serverCodec, raw-rpc.
func rawSpec(codec, serverCodec bool) systemSpec {
	name, label := "raw", "raw framed echo, one connection, client-side msgpack"
	if !codec {
		label = "raw framed echo, one connection, no codec"
	}
	if serverCodec {
		name, label = "raw-rpc", "raw framed echo, one connection, msgpack on both ends (the server decodes and re-encodes inline)"
	}
	return systemSpec{name: name, label: label, start: func() (system, error) {
		srv, err := startRawServer(serverCodec)
		if err != nil {
			return nil, err
		}
		nc, err := net.Dial("tcp", srv.ln.Addr().String())
		if err != nil {
			srv.close()
			return nil, err
		}
		return &rawSystem{srv: srv, cli: newRawClient(nc), codec: codec}, nil
	}}
}

func (s *rawSystem) caller(_ context.Context, msg string) (func() error, error) {
	method, req, reply, err := newMessages(msg)
	if err != nil {
		return nil, err
	}
	kind := rawKindTiny
	if method == "Message" {
		kind = rawKindMessage
	}
	call := &rawCall{sig: make(chan struct{}, 1)}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	encode := func() ([]byte, error) {
		buf.Reset()
		buf.Write(rawSpace[:])
		if err := enc.Encode(req); err != nil {
			return nil, err
		}
		frame := buf.Bytes()
		binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
		frame[rawHeaderLen-1] = kind
		return frame, nil
	}
	if !s.codec {
		frame, err := encode()
		if err != nil {
			return nil, err
		}
		return func() error { return s.cli.roundTrip(call, frame) }, nil
	}
	var rd bytes.Reader
	dec := msgpack.NewDecoder(&rd)
	return func() error {
		frame, err := encode()
		if err != nil {
			return err
		}
		if err := s.cli.roundTrip(call, frame); err != nil {
			return err
		}
		rd.Reset(call.reply)
		return dec.Decode(reply)
	}, nil
}

func (s *rawSystem) close() {
	s.cli.close()
	s.srv.close()
}

// rawCall is one caller's reusable call slot.
type rawCall struct {
	reply []byte
	err   error
	sig   chan struct{} // capacity 1: the reply (or err) is there
}

// rawClient multiplexes calls over one connection.
type rawClient struct {
	nc     net.Conn
	w      *coalescer
	done   chan struct{} // closed by close: stops the writer
	wg     sync.WaitGroup
	nextID atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]*rawCall // guarded by mu
	err     error               // guarded by mu: set once the reader stopped
}

func newRawClient(nc net.Conn) *rawClient {
	c := &rawClient{nc: nc, w: newCoalescer(nc), done: make(chan struct{}), pending: make(map[uint64]*rawCall)}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.w.run(c.done)
		_ = nc.Close() // a failed write ends the reader too
	}()
	go c.readLoop()
	return c
}

// roundTrip sends frame (its length and kind set, id space left) and waits
// for the reply, whose payload it leaves in call.reply.
func (c *rawClient) roundTrip(call *rawCall, frame []byte) error {
	id := c.nextID.Add(1)
	binary.BigEndian.PutUint64(frame[4:12], id)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.pending[id] = call
	c.mu.Unlock()
	// A stopped writer closed the connection: the reader fails the call.
	_ = c.w.enqueue(frame)
	<-call.sig
	return call.err
}

func (c *rawClient) readLoop() {
	defer c.wg.Done()
	br := bufio.NewReaderSize(c.nc, 64<<10)
	var hdr [rawHeaderLen]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			c.fail()
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:4])) - (rawHeaderLen - 4)
		id := binary.BigEndian.Uint64(hdr[4:12])
		c.mu.Lock()
		call := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if call == nil {
			c.fail()
			return
		}
		call.reply = slices.Grow(call.reply[:0], n)[:n]
		if _, err := io.ReadFull(br, call.reply); err != nil {
			call.err = errRawClosed
			call.sig <- struct{}{}
			c.fail()
			return
		}
		call.err = nil
		call.sig <- struct{}{}
	}
}

// fail ends every pending call and refuses new ones.
func (c *rawClient) fail() {
	c.mu.Lock()
	c.err = errRawClosed
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, call := range pending {
		call.err = errRawClosed
		call.sig <- struct{}{}
	}
}

func (c *rawClient) close() {
	close(c.done)
	_ = c.nc.Close()
	c.wg.Wait()
}

// rawServer echoes every frame it reads, coalescing its writes.
type rawServer struct{ *tcpServer }

func startRawServer(codec bool) (*rawServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &rawServer{serveTCP(ln, func(nc net.Conn) { echoConn(nc, codec) })}, nil
}

// echoConn serves one connection: a reader that echoes and a writer that
// coalesces, which stops when the reader does.
func echoConn(nc net.Conn, codec bool) {
	w := newCoalescer(nc)
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() { w.run(stop) })
	echoFrames(nc, w, codec)
	close(stop)
	writer.Wait()
}

// echoFrames reads frames from nc and queues each on w: unchanged, or with
// codec, with its payload decoded and encoded again.
func echoFrames(nc net.Conn, w *coalescer, codec bool) {
	br := bufio.NewReaderSize(nc, 64<<10)
	var hdr [rawHeaderLen]byte
	var body []byte
	var rd bytes.Reader
	dec := msgpack.NewDecoder(&rd)
	var out bytes.Buffer
	enc := msgpack.NewEncoder(&out)
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:4])) - (rawHeaderLen - 4)
		body = slices.Grow(body[:0], n)[:n]
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		payload := body
		if codec {
			var v any = new(benchmsg.Tiny)
			if hdr[rawHeaderLen-1] == rawKindMessage {
				v = new(benchmsg.Message)
			}
			rd.Reset(body)
			out.Reset()
			if dec.Decode(v) != nil || enc.Encode(v) != nil {
				return
			}
			payload = out.Bytes()
			binary.BigEndian.PutUint32(hdr[:4], uint32(rawHeaderLen-4+len(payload)))
		}
		if err := w.enqueue(hdr[:], payload); err != nil {
			return
		}
	}
}
