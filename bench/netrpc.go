package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/rpc"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/longlink/longlink/internal/benchmsg"
)

// NetEcho is the net/rpc echo service.
type NetEcho struct{}

func (NetEcho) Message(args *benchmsg.Message, reply *benchmsg.Message) error {
	*reply = *args
	return nil
}

func (NetEcho) Tiny(args *benchmsg.Tiny, reply *benchmsg.Tiny) error {
	*reply = *args
	return nil
}

// msgpackRPCCodec is a net/rpc client and server codec: each message is a
// header (method, sequence number and, in responses, the error) followed by
// the MessagePack body, over a buffered connection flushed per message, as
// net/rpc's own gob codec does.
type msgpackRPCCodec struct {
	c   io.Closer
	w   *bufio.Writer
	enc *msgpack.Encoder
	dec *msgpack.Decoder
}

func newMsgpackRPCCodec(nc net.Conn) *msgpackRPCCodec {
	w := bufio.NewWriter(nc)
	return &msgpackRPCCodec{c: nc, w: w, enc: msgpack.NewEncoder(w), dec: msgpack.NewDecoder(bufio.NewReader(nc))}
}

func (c *msgpackRPCCodec) writeMessage(method string, seq uint64, errText string, withErr bool, body any) error {
	if err := c.enc.EncodeString(method); err != nil {
		return err
	}
	if err := c.enc.EncodeUint(seq); err != nil {
		return err
	}
	if withErr {
		if err := c.enc.EncodeString(errText); err != nil {
			return err
		}
	}
	if err := c.enc.Encode(body); err != nil {
		return err
	}
	return c.w.Flush()
}

func (c *msgpackRPCCodec) readBody(body any) error {
	if body == nil {
		return c.dec.Skip()
	}
	return c.dec.Decode(body)
}

// Client side.

func (c *msgpackRPCCodec) WriteRequest(r *rpc.Request, body any) error {
	return c.writeMessage(r.ServiceMethod, r.Seq, "", false, body)
}

func (c *msgpackRPCCodec) ReadResponseHeader(r *rpc.Response) (err error) {
	if r.ServiceMethod, err = c.dec.DecodeString(); err != nil {
		return err
	}
	if r.Seq, err = c.dec.DecodeUint64(); err != nil {
		return err
	}
	r.Error, err = c.dec.DecodeString()
	return err
}

func (c *msgpackRPCCodec) ReadResponseBody(body any) error { return c.readBody(body) }

// Server side.

func (c *msgpackRPCCodec) ReadRequestHeader(r *rpc.Request) (err error) {
	if r.ServiceMethod, err = c.dec.DecodeString(); err != nil {
		return err
	}
	r.Seq, err = c.dec.DecodeUint64()
	return err
}

func (c *msgpackRPCCodec) ReadRequestBody(body any) error { return c.readBody(body) }

func (c *msgpackRPCCodec) WriteResponse(r *rpc.Response, body any) error {
	return c.writeMessage(r.ServiceMethod, r.Seq, r.Error, true, body)
}

func (c *msgpackRPCCodec) Close() error { return c.c.Close() }

// netrpcSystem is a net/rpc server with NetEcho and one client connection.
type netrpcSystem struct {
	srv    *tcpServer
	client *rpc.Client
}

var netrpcSpec = systemSpec{
	name:  "netrpc",
	label: "net/rpc, one client connection, msgpack codec",
	start: func() (system, error) { return startNetRPC() },
}

func startNetRPC() (*netrpcSystem, error) {
	srv := rpc.NewServer()
	if err := srv.RegisterName("Echo", NetEcho{}); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &netrpcSystem{srv: serveTCP(ln, func(nc net.Conn) { srv.ServeCodec(newMsgpackRPCCodec(nc)) })}
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		s.close()
		return nil, err
	}
	s.client = rpc.NewClientWithCodec(newMsgpackRPCCodec(nc))
	return s, nil
}

func (s *netrpcSystem) caller(_ context.Context, msg string) (func() error, error) {
	method, req, reply, err := newMessages(msg)
	if err != nil {
		return nil, err
	}
	name := "Echo." + method
	return func() error { return s.client.Call(name, req, reply) }, nil
}

func (s *netrpcSystem) close() {
	if s.client != nil {
		_ = s.client.Close()
	}
	s.srv.close()
}
