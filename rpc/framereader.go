package rpc

import (
	"io"
	"sync/atomic"
)

const (
	// minReadBuffer is the read buffer a connection starts with; idle
	// connections never grow it.
	minReadBuffer = 4 << 10
	// maxReadBuffer is as far as the read buffer grows under load. A frame
	// whose body is larger is read into a slice of its own.
	maxReadBuffer = 64 << 10
)

// frameReader reads frames from a connection through one reusable buffer. It
// is owned by the connection's reader goroutine, except for reads (activity),
// which the heartbeat and idle checks load.
type frameReader struct {
	r   io.Reader
	max int // largest body accepted, bytes

	buf    []byte // buffered input is buf[r0:w0]
	r0, w0 int
	grow   bool // the last read filled buf: double it at the next compaction

	// reads counts reads that returned bytes. Any byte read is liveness.
	reads atomic.Uint64
	// waits counts calls to Read; waiting is true while one is in progress.
	// Silence counts against the peer only while the reader waits for it:
	// when it is out of Read it is busy with what it has, or starved of
	// CPU, and that is its own delay.
	waits   atomic.Uint64
	waiting atomic.Bool
}

// read reads from the connection, recording that it waits for the peer.
func (f *frameReader) read(p []byte) (int, error) {
	f.waits.Add(1)
	f.waiting.Store(true)
	n, err := f.r.Read(p)
	f.waiting.Store(false)
	if n > 0 {
		f.reads.Add(1)
	}
	return n, err
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: r, max: max, buf: make([]byte, minReadBuffer)}
}

// next reads one frame. The body aliases the reader's buffer and is valid
// until the next call. A clean end of stream between frames is io.EOF; inside
// a frame it is io.ErrUnexpectedEOF.
func (f *frameReader) next() (header, []byte, error) {
	if err := f.fill(headerLen); err != nil {
		if err == io.ErrUnexpectedEOF && f.w0 == f.r0 {
			err = io.EOF
		}
		return header{}, nil, err
	}
	h, err := parseHeader(f.buf[f.r0:f.r0+headerLen], f.max)
	if err != nil {
		return header{}, nil, err
	}
	f.r0 += headerLen
	n := int(h.length)
	if n > maxReadBuffer {
		body, err := f.readLarge(n)
		return h, body, err
	}
	if err := f.fill(n); err != nil {
		return header{}, nil, err
	}
	body := f.buf[f.r0 : f.r0+n : f.r0+n]
	f.r0 += n
	return h, body, nil
}

// fill makes at least n (<= maxReadBuffer) bytes available in buf[r0:w0].
func (f *frameReader) fill(n int) error {
	if f.w0-f.r0 >= n {
		return nil
	}
	if f.r0 == f.w0 {
		f.r0, f.w0 = 0, 0
	}
	if len(f.buf)-f.r0 < n || f.grow {
		size := len(f.buf)
		if f.grow && size < maxReadBuffer {
			size *= 2
		}
		for size < n {
			size *= 2
		}
		f.grow = false
		if size != len(f.buf) {
			nb := make([]byte, size)
			f.w0 = copy(nb, f.buf[f.r0:f.w0])
			f.buf = nb
		} else {
			f.w0 = copy(f.buf, f.buf[f.r0:f.w0])
		}
		f.r0 = 0
	}
	for f.w0-f.r0 < n {
		m, err := f.read(f.buf[f.w0:])
		if m > 0 {
			f.w0 += m
			f.grow = f.w0 == len(f.buf) && len(f.buf) < maxReadBuffer
		}
		if err != nil && f.w0-f.r0 < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// readLarge reads a body too large for the shared buffer into a slice of its
// own, growing it as bytes arrive so that a peer that announces a large frame
// and stalls holds no more memory than it has sent (times two).
func (f *frameReader) readLarge(n int) ([]byte, error) {
	body := make([]byte, 0, maxReadBuffer)
	body = append(body, f.buf[f.r0:f.w0]...)
	f.r0, f.w0 = 0, 0
	for len(body) < n {
		if len(body) == cap(body) {
			nb := make([]byte, len(body), min(n, 2*cap(body)))
			copy(nb, body)
			body = nb
		}
		m, err := f.read(body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err != nil && len(body) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	// cap(body) never exceeds n, so nothing past this frame was read.
	return body, nil
}
