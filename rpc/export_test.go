package rpc

import "io"

// Internals exposed to the external test package.
var (
	ParseHeader   = parseHeader
	Validate      = validate
	ParseRequest  = parseRequest
	AppendPing    = appendPing
	AppendPong    = appendPong
	AppendClosing = appendClosing
	HeaderLen     = headerLen
	MaxNesting    = maxNesting
)

// Frame kinds, as ParseHeader reports them.
const (
	KindRequest  = kindRequest
	KindResponse = kindResponse
	KindPing     = kindPing
	KindPong     = kindPong
	KindClosing  = kindClosing
)

// HeaderKind returns the kind of a parsed header; HeaderLength its body length.
func HeaderKind(h header) frameKind { return h.kind }
func HeaderLength(h header) uint32  { return h.length }
func HeaderStatus(h header) Status  { return h.status }
func HeaderID(h header) uint64      { return h.id }

// AppendHeader builds raw headers for bad-input tests.
func AppendHeader(b []byte, flags byte, status uint8, id uint64, length int) []byte {
	return appendHeader(b, flags, status, id, length)
}

// AppendRequest builds a complete request frame.
func AppendRequest(id uint64, service, method string, md Metadata, arg any) ([]byte, error) {
	e := getEncoder()
	defer putEncoder(e)
	if err := e.appendRequest(id, service, method, 0, md, "", arg); err != nil {
		return nil, err
	}
	return append([]byte(nil), e.b...), nil
}

// AppendResponse builds a complete OK response frame.
func AppendResponse(id uint64, result any) []byte {
	e := getEncoder()
	defer putEncoder(e)
	if err := e.appendResponse(id, result); err != nil {
		panic(err)
	}
	return append([]byte(nil), e.b...)
}

// DecodeResponse exposes decodeResponse to the fuzz test.
func DecodeResponse(st Status, body []byte, reply any) error { return decodeResponse(st, body, reply) }

// FrameReader reads frames from r, as connections do.
type FrameReader struct{ fr *frameReader }

func NewFrameReader(r io.Reader, max int) *FrameReader { return &FrameReader{newFrameReader(r, max)} }

// Next returns the next frame's header and a copy of its body.
func (f *FrameReader) Next() (header, []byte, error) {
	h, body, err := f.fr.next()
	return h, append([]byte(nil), body...), err
}

// PendingLen is the number of calls waiting for a reply.
func (c *Conn) PendingLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// ConnCount is the number of connections the server serves.
func (s *Server) ConnCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Flag bits, for building raw frames in tests.
const (
	FlagRequest  = flagRequest
	FlagTwoWay   = flagTwoWay
	FlagEvent    = flagEvent
	CodecMsgpack = codecMsgpack
)

// Unmarshal validates and decodes a body, as both ends do.
var Unmarshal = unmarshal

// RequestArg returns the argument bytes of a parsed request.
func RequestArg(q request) []byte { return q.arg }

// CallsDirectly reports whether service.method of s is called without
// reflect.Value.Call.
func CallsDirectly(s *Server, service, method string) bool {
	return (*s.services.Load())[service].methods[method].direct != nil
}

// SpareWorkers is the number of worker goroutines waiting for a request.
func SpareWorkers(s *Server) int64 { return s.spareWorkers.Load() }

// WorkerIdle is how long spare workers live, about.
const WorkerIdle = workerIdle
