package rpc_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/longlink/longlink/rpc"
)

// seedFrames are valid and nearly valid streams for the fuzzers to start from;
// testdata/fuzz holds more, committed.
func seedFrames(f *testing.F) {
	req, _ := rpc.AppendRequest(1, "Arith", "Add", rpc.Metadata{"k": "v"}, &Args{A: 1, B: 2})
	f.Add(req)
	f.Add(rpc.AppendResponse(1, &Reply{C: 3}))
	f.Add(append(rpc.AppendPing(nil, 2), rpc.AppendPong(nil, 2)...))
	f.Add(rpc.AppendClosing(nil))
	f.Add(req[:len(req)-1])
	f.Add(rpc.AppendHeader(nil, rpc.FlagRequest|rpc.FlagTwoWay, 0, 1, 1<<30))
}

// FuzzFrameReader: any byte stream yields frames within the limit or an
// error, never a panic; every request and response body in it is decoded as
// the server and client would.
func FuzzFrameReader(f *testing.F) {
	seedFrames(f)
	f.Fuzz(func(t *testing.T, stream []byte) {
		const max = 64 << 10
		fr := rpc.NewFrameReader(bytes.NewReader(stream), max)
		for {
			h, body, err := fr.Next()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, rpc.ErrProtocol) && !errors.Is(err, rpc.ErrFrameTooLarge) {
					t.Fatalf("unexpected error class: %v", err)
				}
				return
			}
			if len(body) > max || uint32(len(body)) != rpc.HeaderLength(h) {
				t.Fatalf("body of %d bytes for length %d", len(body), rpc.HeaderLength(h))
			}
			switch rpc.HeaderKind(h) {
			case rpc.KindRequest:
				decodeRequest(body)
			case rpc.KindResponse:
				var v any
				_ = rpc.DecodeResponse(rpc.HeaderStatus(h), body, &v)
			}
		}
	})
}

// decodeRequest parses a request body and decodes its argument into a
// struct and into an untyped value, as a server with those handlers would.
func decodeRequest(body []byte) {
	q, err := rpc.ParseRequest(body)
	if err != nil {
		return
	}
	var args Args
	_ = rpc.Unmarshal(rpc.RequestArg(q), &args)
	var v any
	_ = rpc.Unmarshal(rpc.RequestArg(q), &v)
}

// FuzzRequestBody: request bodies, without framing.
func FuzzRequestBody(f *testing.F) {
	req, _ := rpc.AppendRequest(1, "Arith", "Add", rpc.Metadata{"k": "v"}, &Args{A: 1, B: 2})
	f.Add(req[rpc.HeaderLen:])
	deep := bytes.Repeat([]byte{0x91}, 200)
	f.Add(append([]byte{0x95, 0xa1, 'S', 0xa1, 'M', 0x00, 0xc0}, deep...))
	f.Add([]byte{0x95, 0xa1, 'S', 0xa1, 'M', 0x00, 0xc0, 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		decodeRequest(body)
	})
}

// FuzzResponseBody: response bodies of every status, decoded into a typed
// and an untyped reply.
func FuzzResponseBody(f *testing.F) {
	ok := rpc.AppendResponse(1, &Reply{C: 3})
	f.Add(uint8(0), ok[rpc.HeaderLen:])
	f.Add(uint8(1), []byte{0xa4, 'o', 'o', 'p', 's'})
	f.Add(uint8(9), []byte{0xc1})
	f.Fuzz(func(t *testing.T, status uint8, body []byte) {
		var r Reply
		err := rpc.DecodeResponse(rpc.Status(status), body, &r)
		if status != 0 {
			var re *rpc.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("status %d gave %v, want a *RemoteError", status, err)
			}
		}
		var v any
		_ = rpc.DecodeResponse(rpc.Status(status), body, &v)
	})
}
