package rpc

import (
	"encoding/binary"
	"fmt"
)

// Frame layout; rpc/PROTOCOL.md is the normative description and this file
// follows it field for field.
//
//	offset  size  field
//	0       2     magic 0x4C4C ("LL")
//	2       1     flags: 0x80 request, 0x40 two-way, 0x20 event, low 5 bits codec id
//	3       1     status (responses) or event kind (events); 0 in requests
//	4       8     request id, big endian
//	12      4     body length in bytes, big endian
const (
	headerLen = 16
	magic     = 0x4C4C

	flagRequest = 0x80
	flagTwoWay  = 0x40
	flagEvent   = 0x20
	codecMask   = 0x1F

	// codecMsgpack is the only codec id defined: bodies are MessagePack.
	codecMsgpack = 1
)

// DefaultMaxFrameSize is the largest body either side accepts unless
// configured otherwise: 8 MiB, as in Dubbo.
const DefaultMaxFrameSize = 8 << 20

// eventKind is the status byte of an event frame.
type eventKind uint8

const (
	// eventHeartbeat: a ping (request, two-way) or its pong (response), with
	// the ping's id and an empty body.
	eventHeartbeat eventKind = 1
	// eventClosing: one-way, provider to consumer: "I am shutting down; send
	// no new calls on this connection; calls already sent will be answered".
	eventClosing eventKind = 2
)

// frameKind is what a header says the frame is, once validated.
type frameKind uint8

const (
	kindRequest  frameKind = iota + 1 // request, two-way
	kindResponse                      // response to a request
	kindPing                          // heartbeat request
	kindPong                          // heartbeat response
	kindClosing                       // closing announcement
)

// header is a decoded frame header.
type header struct {
	kind   frameKind
	status Status // responses only
	id     uint64
	length uint32
}

// appendHeader appends a 16-byte header to b.
func appendHeader(b []byte, flags byte, status uint8, id uint64, length int) []byte {
	return append(b,
		byte(magic>>8), byte(magic&0xff), flags|codecMsgpack, status,
		byte(id>>56), byte(id>>48), byte(id>>40), byte(id>>32),
		byte(id>>24), byte(id>>16), byte(id>>8), byte(id),
		byte(length>>24), byte(length>>16), byte(length>>8), byte(length))
}

// putBodyLen writes the body length into a header already in b at off, once
// the body after it has been encoded.
func putBodyLen(b []byte, off int) {
	binary.BigEndian.PutUint32(b[off+12:], uint32(len(b)-off-headerLen))
}

// parseHeader validates a 16-byte header. It checks the length against max
// before anything is allocated for the body.
func parseHeader(p []byte, max int) (header, error) {
	if m := binary.BigEndian.Uint16(p); m != magic {
		return header{}, protocolErrorf("bad magic %#04x", m)
	}
	flags, status := p[2], p[3]
	if c := flags & codecMask; c != codecMsgpack {
		return header{}, protocolErrorf("unknown codec id %d", c)
	}
	h := header{
		id:     binary.BigEndian.Uint64(p[4:]),
		length: binary.BigEndian.Uint32(p[12:]),
	}
	if uint64(h.length) > uint64(max) {
		return header{}, fmt.Errorf("%w: body of %d bytes exceeds the limit of %d", ErrFrameTooLarge, h.length, max)
	}
	switch flags &^ codecMask {
	case flagRequest | flagTwoWay:
		if status != 0 {
			return header{}, protocolErrorf("request with status %d", status)
		}
		h.kind = kindRequest
	case 0:
		h.kind, h.status = kindResponse, Status(status)
	case flagEvent | flagRequest | flagTwoWay, flagEvent, flagEvent | flagRequest:
		k, err := eventFrameKind(flags, eventKind(status))
		if err != nil {
			return header{}, err
		}
		if h.length != 0 {
			return header{}, protocolErrorf("event %d with a %d-byte body", status, h.length)
		}
		h.kind = k
	default:
		return header{}, protocolErrorf("invalid flags %#02x", flags)
	}
	return h, nil
}

func eventFrameKind(flags byte, ev eventKind) (frameKind, error) {
	req, twoWay := flags&flagRequest != 0, flags&flagTwoWay != 0
	switch {
	case ev == eventHeartbeat && req && twoWay:
		return kindPing, nil
	case ev == eventHeartbeat && !req && !twoWay:
		return kindPong, nil
	case ev == eventClosing && req && !twoWay:
		return kindClosing, nil
	}
	return 0, protocolErrorf("unknown event %d with flags %#02x", ev, flags)
}

// Frames with no body, ready to queue.
func appendPing(b []byte, id uint64) []byte {
	return appendHeader(b, flagRequest|flagTwoWay|flagEvent, uint8(eventHeartbeat), id, 0)
}

func appendPong(b []byte, id uint64) []byte {
	return appendHeader(b, flagEvent, uint8(eventHeartbeat), id, 0)
}

func appendClosing(b []byte) []byte {
	return appendHeader(b, flagRequest|flagEvent, uint8(eventClosing), 0, 0)
}
