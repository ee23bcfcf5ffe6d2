package rpc_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/longlink/longlink/rpc"
	"github.com/vmihailenco/msgpack/v5"
)

func TestParseHeader(t *testing.T) {
	hdr := func(flags byte, status uint8, length int) []byte {
		return rpc.AppendHeader(nil, flags, status, 7, length)
	}
	withMagic := func(b []byte, m0, m1 byte) []byte { b[0], b[1] = m0, m1; return b }
	withCodec := func(b []byte, c byte) []byte { b[2] = b[2]&^0x1f | c; return b }
	const (
		req   = rpc.FlagRequest | rpc.FlagTwoWay
		event = rpc.FlagEvent
	)
	tests := []struct {
		name    string
		in      []byte
		kind    any
		wantErr error
	}{
		{"request", hdr(req, 0, 10), rpc.KindRequest, nil},
		{"response", hdr(0, 3, 10), rpc.KindResponse, nil},
		{"ping", rpc.AppendPing(nil, 1), rpc.KindPing, nil},
		{"pong", rpc.AppendPong(nil, 1), rpc.KindPong, nil},
		{"closing", rpc.AppendClosing(nil), rpc.KindClosing, nil},
		{"body at the limit", hdr(req, 0, 1000), rpc.KindRequest, nil},
		{"body over the limit", hdr(req, 0, 1001), nil, rpc.ErrFrameTooLarge},
		{"length 2^32-1", hdr(req, 0, 1<<32-1), nil, rpc.ErrFrameTooLarge},
		{"bad magic", withMagic(hdr(req, 0, 1), 0xda, 0xbb), nil, rpc.ErrProtocol},
		{"unknown codec", withCodec(hdr(req, 0, 1), 27), nil, rpc.ErrProtocol},
		{"codec zero", withCodec(hdr(req, 0, 1), 0), nil, rpc.ErrProtocol},
		{"one-way request", hdr(rpc.FlagRequest, 0, 1), nil, rpc.ErrProtocol},
		{"request with status", hdr(req, 1, 1), nil, rpc.ErrProtocol},
		{"two-way response", hdr(rpc.FlagTwoWay, 0, 1), nil, rpc.ErrProtocol},
		{"unknown event", hdr(req|event, 9, 0), nil, rpc.ErrProtocol},
		{"event with a body", hdr(req|event, 1, 4), nil, rpc.ErrProtocol},
		{"pong marked two-way", hdr(event|rpc.FlagTwoWay, 1, 0), nil, rpc.ErrProtocol},
		{"closing marked two-way", hdr(req|event, 2, 0), nil, rpc.ErrProtocol},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.in) != rpc.HeaderLen {
				t.Fatalf("test header is %d bytes", len(tc.in))
			}
			h, err := rpc.ParseHeader(tc.in, 1000)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rpc.HeaderKind(h); got != tc.kind {
				t.Fatalf("kind = %v, want %v", got, tc.kind)
			}
		})
	}
}

func TestHeaderFields(t *testing.T) {
	h, err := rpc.ParseHeader(rpc.AppendHeader(nil, 0, uint8(rpc.StatusOverloaded), 0x0102030405060708, 0x0a0b0c), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if rpc.HeaderID(h) != 0x0102030405060708 || rpc.HeaderLength(h) != 0x0a0b0c || rpc.HeaderStatus(h) != rpc.StatusOverloaded {
		t.Fatalf("fields: id %#x length %#x status %v", rpc.HeaderID(h), rpc.HeaderLength(h), rpc.HeaderStatus(h))
	}
}

// The wire bytes of PROTOCOL.md's example must be what the code produces.
func TestProtocolDocumentExample(t *testing.T) {
	got := rpc.AppendPing(nil, 5)
	want := []byte{0x4c, 0x4c, 0xe1, 0x01, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Fatalf("ping = % x, want % x", got, want)
	}
	doc := readProtocolDoc(t)
	if !strings.Contains(doc, "4c 4c e1 01 00 00 00 00 00 00 00 05 00 00 00 00") {
		t.Fatal("PROTOCOL.md does not show the ping example")
	}
}

func TestFrameReader(t *testing.T) {
	frame := func(id uint64, body string) []byte {
		return append(rpc.AppendHeader(nil, 0, 0, id, len(body)), body...)
	}
	big := strings.Repeat("z", 200<<10) // larger than the read buffer ever grows
	var stream []byte
	stream = append(stream, frame(1, "one")...)
	stream = append(stream, frame(2, "")...)
	stream = append(stream, frame(3, big)...)
	stream = append(stream, frame(4, "four")...)
	readers := []struct {
		name string
		r    func() io.Reader
	}{
		{"whole", func() io.Reader { return bytes.NewReader(stream) }},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
	}
	for _, tc := range readers {
		t.Run(tc.name, func(t *testing.T) {
			fr := rpc.NewFrameReader(tc.r(), 1<<20)
			for i, want := range []string{"one", "", big, "four"} {
				h, body, err := fr.Next()
				if err != nil {
					t.Fatalf("frame %d: %v", i+1, err)
				}
				if rpc.HeaderID(h) != uint64(i+1) || string(body) != want {
					t.Fatalf("frame %d: id %d, body of %d bytes, want %d", i+1, rpc.HeaderID(h), len(body), len(want))
				}
			}
			if _, _, err := fr.Next(); err != io.EOF {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
		})
	}
}

func TestFrameReaderTruncated(t *testing.T) {
	full := append(rpc.AppendHeader(nil, 0, 0, 1, 10), "0123456789"...)
	for _, n := range []int{1, 15, 16, 20, 25} {
		fr := rpc.NewFrameReader(bytes.NewReader(full[:n]), 1<<20)
		if _, _, err := fr.Next(); err != io.ErrUnexpectedEOF {
			t.Errorf("%d of %d bytes: %v, want io.ErrUnexpectedEOF", n, len(full), err)
		}
	}
}

// strictReader fails the test if more than n bytes are read from it.
type strictReader struct {
	t *testing.T
	r io.Reader
	n int
}

func (s *strictReader) Read(p []byte) (int, error) {
	if s.n == 0 {
		s.t.Fatal("read past the header of an oversized frame")
	}
	p = p[:min(len(p), s.n)]
	n, err := s.r.Read(p)
	s.n -= n
	return n, err
}

func TestOversizedLengthRefusedBeforeReadingBody(t *testing.T) {
	hdr := rpc.AppendHeader(nil, 0, 0, 1, 1<<31)
	r := &strictReader{t: t, r: io.MultiReader(bytes.NewReader(hdr), neverEnding{}), n: len(hdr)}
	fr := rpc.NewFrameReader(r, rpc.DefaultMaxFrameSize)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := fr.Next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, rpc.ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("refusing a frame that claims 2 GiB allocated %d bytes", n)
	}
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) { return len(p), nil }

func TestValidate(t *testing.T) {
	nest := func(depth int) []byte {
		b := bytes.Repeat([]byte{0x91}, depth) // fixarray of one element
		return append(b, 0x01)
	}
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"positive fixint", []byte{0x05}, true},
		{"nil", []byte{0xc0}, true},
		{"fixstr", []byte{0xa3, 'a', 'b', 'c'}, true},
		{"map of one pair", []byte{0x81, 0xa1, 'k', 0x02}, true},
		{"float64", []byte{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, true},
		{"ext8", []byte{0xc7, 2, 1, 0xaa, 0xbb}, true},
		{"fixext4", []byte{0xd6, 1, 0, 0, 0, 0}, true},
		{"nesting at the limit", nest(rpc.MaxNesting), true},
		{"nesting over the limit", nest(rpc.MaxNesting + 1), false},
		{"empty", nil, false},
		{"never-used code 0xc1", []byte{0xc1}, false},
		{"two values", []byte{0x01, 0x02}, false},
		{"truncated string", []byte{0xa3, 'a'}, false},
		{"array32 claiming 2^32-1 elements", []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}, false},
		{"map16 claiming more pairs than bytes", []byte{0xde, 0x00, 0x10, 0x01, 0x01}, false},
		{"bin32 claiming 4 GiB", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}, false},
		{"array missing elements", []byte{0x93, 0x01, 0x02}, false},
		{"truncated int64", []byte{0xd3, 0, 0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := rpc.Validate(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("Validate(% x) = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}

// Validate reads every first byte the way the codec does: for each of the
// 256 codes followed by a run of filler bytes (which are themselves small
// values, or small lengths), it accepts exactly when the codec reads one
// whole value that uses every byte.
func TestValidateAgreesWithCodec(t *testing.T) {
	for c := range 256 {
		for _, filler := range []byte{0x00, 0x01, 0x02} {
			for extra := range 20 {
				in := append([]byte{byte(c)}, bytes.Repeat([]byte{filler}, extra)...)
				r := bytes.NewReader(in)
				codecOK := msgpack.NewDecoder(r).Skip() == nil && r.Len() == 0
				if err := rpc.Validate(in); (err == nil) != codecOK {
					t.Fatalf("Validate(% x) = %v; the codec reads it whole: %v", in, err, codecOK)
				}
			}
		}
	}
}

func TestParseRequest(t *testing.T) {
	good, err := rpc.AppendRequest(1, "Svc", "Method", rpc.Metadata{"k": "v"}, &Args{A: 1, B: 2})
	if err != nil {
		t.Fatal(err)
	}
	body := good[rpc.HeaderLen:]
	manyPairs := []byte{0x95, 0xa1, 'S', 0xa1, 'M', 0x00, 0xde, 0x00, 0x41} // 65 pairs
	for i := range 65 {
		manyPairs = append(manyPairs, 0xa2, 'k', byte('A'+i), 0xa0)
	}
	manyPairs = append(manyPairs, 0xc0)
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"good", body, true},
		{"not an array", []byte{0x01}, false},
		{"array of 4", []byte{0x94, 0xa1, 'S', 0xa1, 'M', 0x00, 0xc0}, false},
		{"service not a string", []byte{0x95, 0x01, 0xa1, 'M', 0x00, 0xc0, 0xc0}, false},
		{"negative timeout", []byte{0x95, 0xa1, 'S', 0xa1, 'M', 0xff, 0xc0, 0xc0}, false},
		{"metadata not a map", []byte{0x95, 0xa1, 'S', 0xa1, 'M', 0x00, 0x01, 0xc0}, false},
		{"metadata value not a string", []byte{0x95, 0xa1, 'S', 0xa1, 'M', 0x00, 0x81, 0xa1, 'k', 0x01, 0xc0}, false},
		{"65 metadata pairs", manyPairs, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rpc.ParseRequest(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseRequest(% x) = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}
