package faultnet

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/longlink/longlink/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// patience bounds every wait for something that must happen. It is generous:
// the machine is small and shared, and a passing test never waits it out.
const patience = 20 * time.Second

// quiet is how long a test watches for something that must not happen. A
// slow machine cannot make such a check fail, only a bug can.
const quiet = 200 * time.Millisecond

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, patience, what, cond)
}

// server accepts loopback connections and hands them to the test.
type server struct {
	ln    net.Listener
	conns chan net.Conn
	stop  chan struct{}
	done  chan struct{}
}

func startServer(t *testing.T) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln, conns: make(chan net.Conn, 64), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case s.conns <- c:
			case <-s.stop:
				c.Close()
				return
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *server) addr() string { return s.ln.Addr().String() }

// close stops accepting and closes the connections nobody took.
func (s *server) close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	s.ln.Close()
	<-s.done
	for {
		select {
		case c := <-s.conns:
			c.Close()
		default:
			return
		}
	}
}

func (s *server) accept(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-s.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(patience):
		t.Fatal("timed out waiting for the server to accept")
		return nil
	}
}

// listen starts a proxy to s, closed when the test ends.
func listen(t *testing.T, s *server) *Proxy {
	t.Helper()
	p, err := Listen(s.addr(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// connect dials s through p and returns both ends.
func connect(t *testing.T, p *Proxy, s *server) (client, srv net.Conn) {
	t.Helper()
	client = dial(t, p.Addr())
	return client, s.accept(t)
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pattern returns n bytes that reveal loss, duplication and reordering.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i/251) ^ seed
	}
	return b
}

// readFull reads exactly n bytes from c within patience.
func readFull(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(patience))
	defer c.SetReadDeadline(time.Time{})
	b := make([]byte, n)
	if got, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d of %d bytes: %v", got, n, err)
	}
	return b
}

// expect reads len(want) bytes from c and compares them to want.
func expect(t *testing.T, c net.Conn, want []byte) {
	t.Helper()
	if got := readFull(t, c, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes that differ from those written", len(want))
	}
}

// expectNothing checks that nothing arrives on c for a while.
func expectNothing(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(quiet))
	defer c.SetReadDeadline(time.Time{})
	var b [1]byte
	n, err := c.Read(b[:])
	if n > 0 || !isTimeout(err) {
		t.Fatalf("read %d bytes, %v; want nothing", n, err)
	}
}

// writeAll writes b to c within patience.
func writeAll(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(patience))
	defer c.SetWriteDeadline(time.Time{})
	if n, err := c.Write(b); err != nil {
		t.Fatalf("wrote %d of %d bytes: %v", n, len(b), err)
	}
}

// expectReset reads from c until an error and checks that it is ECONNRESET.
func expectReset(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read error %v; want ECONNRESET", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
