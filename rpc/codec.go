package rpc

import (
	"bytes"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// The codec is MessagePack (github.com/vmihailenco/msgpack/v5) with its
// default settings: structs travel as maps keyed by field name (or by the
// `msgpack` struct tag). Encoders and decoders are pooled; neither keeps a
// reference to the bytes it was given.

// encoder encodes frames into a growable buffer.
type encoder struct {
	b   []byte
	enc *msgpack.Encoder
}

// Write and WriteByte let msgpack's Encoder append to e.b without a bufio layer.
func (e *encoder) Write(p []byte) (int, error) { e.b = append(e.b, p...); return len(p), nil }
func (e *encoder) WriteByte(c byte) error      { e.b = append(e.b, c); return nil }

// maxPooledBuffer: buffers that grew past this are dropped, not pooled.
const maxPooledBuffer = 64 << 10

var encoders = sync.Pool{New: func() any {
	e := new(encoder)
	e.enc = msgpack.NewEncoder(e)
	return e
}}

func getEncoder() *encoder {
	e := encoders.Get().(*encoder)
	e.b = e.b[:0]
	return e
}

func putEncoder(e *encoder) {
	if cap(e.b) > maxPooledBuffer {
		e.b = nil
	}
	encoders.Put(e)
}

type decoder struct {
	r   bytes.Reader
	dec *msgpack.Decoder
}

var decoders = sync.Pool{New: func() any {
	d := new(decoder)
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}}

// unmarshal validates b (see validate) and decodes it into v, a pointer.
func unmarshal(b []byte, v any) error {
	if err := validate(b); err != nil {
		return err
	}
	return decodeValidated(b, v)
}

// decodeValidated decodes b, which has passed validate, into v.
func decodeValidated(b []byte, v any) error {
	d := decoders.Get().(*decoder)
	d.r.Reset(b)
	err := d.dec.Decode(v)
	d.r.Reset(nil)
	decoders.Put(d)
	return err
}
