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
// it allocates, so this runs before it sees any body.
func validate(b []byte) error {
	var stack [maxNesting]int // elements still due at each open level
	depth := 0
	r := msgpReader{b: b}
	items := 1 // values due at the top level
	for {
		for items == 0 {
			if depth == 0 {
				if r.off != len(b) {
					return errMsgp
				}
				return nil
			}
			depth--
			items = stack[depth]
		}
		items--
		n, isContainer, err := r.skipScalar()
		if err != nil {
			return err
		}
		if !isContainer {
			continue
		}
		if n > len(b)-r.off { // every element takes at least one byte
			return errMsgp
		}
		if n == 0 {
			continue
		}
		if depth == maxNesting {
			return errors.New("msgpack nested too deep")
		}
		stack[depth] = items
		depth++
		items = n
	}
}

// skipScalar consumes one value's header and, for scalars, its payload. For
// arrays and maps it returns the number of elements that follow (maps count
// keys and values) and isContainer.
func (r *msgpReader) skipScalar() (elems int, isContainer bool, err error) {
	c, err := r.byte()
	if err != nil {
		return 0, false, err
	}
	var skip int
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return 0, false, nil
	case c&0xf0 == 0x80:
		return 2 * int(c&0x0f), true, nil
	case c&0xf0 == 0x90:
		return int(c & 0x0f), true, nil
	case c&0xe0 == 0xa0:
		skip = int(c & 0x1f)
	case c == 0xc4, c == 0xd9:
		skip, err = r.uintN(1)
	case c == 0xc5, c == 0xda:
		skip, err = r.uintN(2)
	case c == 0xc6, c == 0xdb:
		skip, err = r.uintN(4)
	case c == 0xcc, c == 0xd0:
		skip = 1
	case c == 0xcd, c == 0xd1:
		skip = 2
	case c == 0xca, c == 0xce, c == 0xd2:
		skip = 4
	case c == 0xcb, c == 0xcf, c == 0xd3:
		skip = 8
	case c == 0xd4:
		skip = 1 + 1
	case c == 0xd5:
		skip = 1 + 2
	case c == 0xd6:
		skip = 1 + 4
	case c == 0xd7:
		skip = 1 + 8
	case c == 0xd8:
		skip = 1 + 16
	case c == 0xc7:
		skip, err = r.uintN(1)
		skip++
	case c == 0xc8:
		skip, err = r.uintN(2)
		skip++
	case c == 0xc9:
		skip, err = r.uintN(4)
		skip++
	case c == 0xdc:
		n, err := r.uintN(2)
		return n, true, err
	case c == 0xdd:
		n, err := r.uintN(4)
		return n, true, err
	case c == 0xde:
		n, err := r.uintN(2)
		return 2 * n, true, err
	case c == 0xdf:
		n, err := r.uintN(4)
		return 2 * n, true, err
	default: // 0xc1 is never used
		return 0, false, errMsgp
	}
	if err != nil {
		return 0, false, err
	}
	_, err = r.need(skip)
	return 0, false, err
}
