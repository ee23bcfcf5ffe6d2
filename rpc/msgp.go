package rpc

import (
	"encoding/binary"
	"errors"
	"math"
)

// A minimal MessagePack reader and writer for the request and response
// envelopes, which must not allocate on the hot path, and a validator that
// every body passes before the general-purpose codec sees it.

// maxNesting is the deepest array/map nesting a body may have. Deeper input
// is refused before decoding, since the codec recurses once per level.
const maxNesting = 128

var errMsgp = errors.New("malformed msgpack")

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	}
	return append(b, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendMapLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xde, byte(n>>8), byte(n))
	}
	return append(b, 0xdf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendString(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v < 128:
		return append(b, byte(v))
	case v >= -32 && v < 0:
		return append(b, byte(v))
	}
	return append(b, 0xd3, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendNil(b []byte) []byte { return append(b, 0xc0) }

// msgpReader reads envelope fields from a body. Slices it returns alias the body.
type msgpReader struct {
	b   []byte
	off int
}

func (r *msgpReader) need(n int) ([]byte, error) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, errMsgp
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, nil
}

func (r *msgpReader) byte() (byte, error) {
	p, err := r.need(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// uintN reads a big-endian unsigned integer of n (1, 2 or 4) bytes.
func (r *msgpReader) uintN(n int) (int, error) {
	p, err := r.need(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return int(p[0]), nil
	case 2:
		return int(binary.BigEndian.Uint16(p)), nil
	}
	return int(binary.BigEndian.Uint32(p)), nil
}

// arrayLen reads an array header.
func (r *msgpReader) arrayLen() (int, error) {
	c, err := r.byte()
	switch {
	case err != nil:
		return 0, err
	case c&0xf0 == 0x90:
		return int(c & 0x0f), nil
	case c == 0xdc:
		return r.uintN(2)
	case c == 0xdd:
		return r.uintN(4)
	}
	return 0, errMsgp
}

// mapLen reads a map header; nil reads as an empty map.
func (r *msgpReader) mapLen() (int, error) {
	c, err := r.byte()
	switch {
	case err != nil:
		return 0, err
	case c == 0xc0:
		return 0, nil
	case c&0xf0 == 0x80:
		return int(c & 0x0f), nil
	case c == 0xde:
		return r.uintN(2)
	case c == 0xdf:
		return r.uintN(4)
	}
	return 0, errMsgp
}

// str reads a string (str or bin family) and returns its bytes.
func (r *msgpReader) str() ([]byte, error) {
	c, err := r.byte()
	if err != nil {
		return nil, err
	}
	var n int
	switch {
	case c&0xe0 == 0xa0:
		n = int(c & 0x1f)
	case c == 0xd9 || c == 0xc4:
		n, err = r.uintN(1)
	case c == 0xda || c == 0xc5:
		n, err = r.uintN(2)
	case c == 0xdb || c == 0xc6:
		n, err = r.uintN(4)
	default:
		return nil, errMsgp
	}
	if err != nil {
		return nil, err
	}
	return r.need(n)
}

// int reads any msgpack integer that fits an int64.
func (r *msgpReader) int() (int64, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	}
	var size int
	switch c {
	case 0xcc, 0xd0:
		size = 1
	case 0xcd, 0xd1:
		size = 2
	case 0xce, 0xd2:
		size = 4
	case 0xcf, 0xd3:
		size = 8
	default:
		return 0, errMsgp
	}
	p, err := r.need(size)
	if err != nil {
		return 0, err
	}
	var u uint64
	for _, x := range p {
		u = u<<8 | uint64(x)
	}
	if c >= 0xd0 { // signed: sign-extend
		shift := 64 - 8*uint(size)
		return int64(u<<shift) >> shift, nil
	}
	if u > math.MaxInt64 {
		return 0, errMsgp
	}
	return int64(u), nil
}

// validate checks that b holds exactly one well-formed msgpack value, nested
// at most maxNesting deep, in which no array, map, string or extension claims
// more elements or bytes than remain. The codec trusts claimed lengths when
// it allocates, so this runs before it sees any body. It runs on every body
// at both ends, so it reads each value's first byte through the table
// leadBytes instead of a chain of comparisons.
func validate(b []byte) error {
	var stack [maxNesting]int32 // elements still due at each open level
	depth := 0
	off := 0
	items := 1 // values due at the current level
	for {
		for items == 0 {
			if depth == 0 {
				if off != len(b) {
					return errMsgp
				}
				return nil
			}
			depth--
			items = int(stack[depth])
		}
		items--
		if off >= len(b) {
			return errMsgp
		}
		lead := leadBytes[b[off]]
		off++
		var n int // payload bytes to skip, or elements to open
		switch lead.kind {
		case leadFixed:
			n = int(lead.n)
			if n > len(b)-off {
				return errMsgp
			}
			off += n
			continue
		case leadSized, leadSizedExt:
			w := int(lead.n)
			if w > len(b)-off {
				return errMsgp
			}
			n = beUint(b[off : off+w])
			off += w
			if lead.kind == leadSizedExt {
				n++ // the extension's type byte
			}
			if n < 0 || n > len(b)-off { // n < 0: a 32-bit length on a 32-bit int
				return errMsgp
			}
			off += n
			continue
		case leadFixArray:
			n = int(lead.n)
		case leadFixMap:
			n = 2 * int(lead.n)
		case leadArray, leadMap:
			w := int(lead.n)
			if w > len(b)-off {
				return errMsgp
			}
			n = beUint(b[off : off+w])
			off += w
			if n < 0 || n > len(b)-off {
				return errMsgp
			}
			if lead.kind == leadMap {
				n *= 2
			}
		default:
			return errMsgp
		}
		// An array or a map of n elements (keys and values).
		if n > len(b)-off { // every element takes at least one byte
			return errMsgp
		}
		if n == 0 {
			continue
		}
		if depth == maxNesting {
			return errors.New("msgpack nested too deep")
		}
		stack[depth] = int32(items)
		depth++
		items = n
	}
}

// beUint reads a big-endian unsigned integer of 1, 2 or 4 bytes.
func beUint(p []byte) int {
	switch len(p) {
	case 1:
		return int(p[0])
	case 2:
		return int(binary.BigEndian.Uint16(p))
	}
	return int(binary.BigEndian.Uint32(p))
}

// leadByte says what a msgpack value's first byte announces.
type leadByte struct {
	kind leadKind
	n    uint8 // leadFixed: payload bytes; leadSized*, leadArray, leadMap: bytes of the length; leadFix*: elements
}

type leadKind uint8

const (
	leadInvalid  leadKind = iota // 0xc1, never used
	leadFixed                    // a payload of n bytes follows (n may be 0)
	leadSized                    // a big-endian length of n bytes, then that many bytes (str, bin)
	leadSizedExt                 // the same, plus the extension's type byte (ext 8/16/32)
	leadFixArray                 // an array of n elements
	leadFixMap                   // a map of n pairs
	leadArray                    // an array whose element count takes n bytes
	leadMap                      // a map whose pair count takes n bytes
)

// leadBytes describes every possible first byte (the msgpack specification's
// format table).
var leadBytes = func() (t [256]leadByte) {
	for c := range 256 {
		switch {
		case c <= 0x7f, c >= 0xe0: // positive and negative fixint
			t[c] = leadByte{leadFixed, 0}
		case c <= 0x8f:
			t[c] = leadByte{leadFixMap, uint8(c & 0x0f)}
		case c <= 0x9f:
			t[c] = leadByte{leadFixArray, uint8(c & 0x0f)}
		case c <= 0xbf:
			t[c] = leadByte{leadFixed, uint8(c & 0x1f)} // fixstr
		}
	}
	for c, lb := range map[byte]leadByte{
		0xc0: {leadFixed, 0}, 0xc2: {leadFixed, 0}, 0xc3: {leadFixed, 0}, // nil, false, true
		0xc4: {leadSized, 1}, 0xc5: {leadSized, 2}, 0xc6: {leadSized, 4}, // bin
		0xc7: {leadSizedExt, 1}, 0xc8: {leadSizedExt, 2}, 0xc9: {leadSizedExt, 4}, // ext
		0xca: {leadFixed, 4}, 0xcb: {leadFixed, 8}, // float
		0xcc: {leadFixed, 1}, 0xcd: {leadFixed, 2}, 0xce: {leadFixed, 4}, 0xcf: {leadFixed, 8}, // uint
		0xd0: {leadFixed, 1}, 0xd1: {leadFixed, 2}, 0xd2: {leadFixed, 4}, 0xd3: {leadFixed, 8}, // int
		0xd4: {leadFixed, 2}, 0xd5: {leadFixed, 3}, 0xd6: {leadFixed, 5}, 0xd7: {leadFixed, 9}, 0xd8: {leadFixed, 17}, // fixext
		0xd9: {leadSized, 1}, 0xda: {leadSized, 2}, 0xdb: {leadSized, 4}, // str
		0xdc: {leadArray, 2}, 0xdd: {leadArray, 4},
		0xde: {leadMap, 2}, 0xdf: {leadMap, 4},
	} {
		t[c] = lb
	}
	return t
}()
