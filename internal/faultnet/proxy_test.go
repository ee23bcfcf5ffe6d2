package faultnet

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestPassEchoAndHalfClose(t *testing.T) {
	s := startServer(t)
	p := listen(t, s)
	client, srv := connect(t, p, s)

	data := pattern(1<<20, 1)
	echoed := make(chan error, 1)
	go func() {
		_, err := io.Copy(srv, srv) // until the client's FIN
		if err == nil {
			err = srv.(*net.TCPConn).CloseWrite()
		}
		echoed <- err
	}()
	wrote := make(chan error, 1)
	go func() {
		_, err := client.Write(data)
		if err == nil {
			err = client.(*net.TCPConn).CloseWrite()
		}
		wrote <- err
	}()
	expect(t, client, data)
	client.SetReadDeadline(time.Now().Add(patience))
	if n, err := client.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after the echo: read %d bytes, %v; want EOF", n, err)
	}
	if err := <-wrote; err != nil {
		t.Fatal("client:", err)
	}
	if err := <-echoed; err != nil {
		t.Fatal("echo:", err)
	}
	waitFor(t, "the proxied connection to close", func() bool { return p.Stats().Open == 0 })
	want := Stats{Accepted: 1, ClientToTarget: int64(len(data)), TargetToClient: int64(len(data))}
	if got := p.Stats(); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

func TestFreezeHoldsBytesUntilPass(t *testing.T) {
	s := startServer(t)
	p := listen(t, s)
	client, srv := connect(t, p, s)
	writeAll(t, client, []byte("warm"))
	expect(t, srv, []byte("warm"))

	p.Freeze()
	frozen := p.Stats()
	down := pattern(1000, 2)
	writeAll(t, srv, down)
	expectNothing(t, client)

	// The proxy no longer reads, so the client's writes pile up in kernel
	// buffers until the client blocks.
	var sent bytes.Buffer
	for i := 0; ; i++ {
		chunk := pattern(64<<10, byte(i))
		client.SetWriteDeadline(time.Now().Add(quiet))
		n, err := client.Write(chunk)
		sent.Write(chunk[:n])
		if err != nil {
			if !isTimeout(err) {
				t.Fatal(err)
			}
			break
		}
		if sent.Len() > 512<<20 {
			t.Fatal("the client never blocked: the proxy keeps reading")
		}
	}
	client.SetWriteDeadline(time.Time{})
	expectNothing(t, srv)
	if got := p.Stats(); got != frozen {
		t.Fatalf("stats moved while frozen: %+v, then %+v", frozen, got)
	}

	p.Pass()
	expect(t, client, down)
	expect(t, srv, sent.Bytes())
	writeAll(t, client, []byte("after"))
	expect(t, srv, []byte("after"))
}

func TestFreezeAcceptsButDoesNotForward(t *testing.T) {
	s := startServer(t)
	p := listen(t, s)
	p.Freeze()
	client, srv := connect(t, p, s) // the proxy still dials the target
	writeAll(t, client, []byte("hello"))
	writeAll(t, srv, []byte("world"))
	expectNothing(t, srv)
	expectNothing(t, client)
	if got := p.Stats().Open; got != 1 {
		t.Fatalf("%d open connections, want 1", got)
	}
	p.Pass()
	expect(t, srv, []byte("hello"))
	expect(t, client, []byte("world"))
}

func TestBlackholeDiscards(t *testing.T) {
	s := startServer(t)
	p := listen(t, s)
	client, srv := connect(t, p, s)
	writeAll(t, client, []byte("warm"))
	expect(t, srv, []byte("warm"))

	p.Blackhole()
	before := p.Stats()
	up, down := pattern(100_000, 3), pattern(50_000, 4)
	writeAll(t, client, up)
	writeAll(t, srv, down)
	waitFor(t, "the proxy to eat every byte", func() bool {
		return p.Stats().Discarded == int64(len(up)+len(down))
	})
	expectNothing(t, srv)
	expectNothing(t, client)
	if got := p.Stats(); got.ClientToTarget != before.ClientToTarget || got.TargetToClient != before.TargetToClient {
		t.Fatalf("bytes forwarded while blackholed: %+v, then %+v", before, got)
	}

	p.Pass()
	writeAll(t, client, []byte("after"))
	expect(t, srv, []byte("after"))
	writeAll(t, srv, []byte("back"))
	expect(t, client, []byte("back"))
}

func TestDelayHoldsUntilDue(t *testing.T) {
	s := startServer(t)
	p := listen(t, s)
	client, srv := connect(t, p, s)
	p.Delay(time.Hour)
	up, down := pattern(3000, 5), pattern(2000, 6)
	for i := 0; i < len(up); i += 1000 { // several chunks, held in order
		writeAll(t, client, up[i:i+1000])
	}
	writeAll(t, srv, down)
	expectNothing(t, srv)
	expectNothing(t, client)
	p.Pass() // held chunks are due at once
	expect(t, srv, up)
	expect(t, client, down)
}

func TestDelayPreservesOrder(t *testing.T) {
	s := startServer(t)
	p := listen(t, s)
	client, srv := connect(t, p, s)
	p.Delay(2 * time.Millisecond)

	send := func(c net.Conn, data []byte, errc chan<- error) {
		r := rand.New(rand.NewPCG(uint64(len(data)), 1))
		for len(data) > 0 {
			n := min(1+r.IntN(5000), len(data))
			if _, err := c.Write(data[:n]); err != nil {
				errc <- err
				return
			}
			data = data[n:]
		}
		errc <- nil
	}
	up, down := pattern(300_000, 7), pattern(200_000, 8)
	errc := make(chan error, 2)
	go send(client, up, errc)
	go send(srv, down, errc)
	expect(t, srv, up)
	expect(t, client, down)
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// TestSwitchingModesLosesNothing streams bytes while the mode keeps changing
// between everything but Blackhole, and checks that the stream arrives whole
// and that no byte moves while frozen.
func TestSwitchingModesLosesNothing(t *testing.T) {
	s := startServer(t)
	p := listen(t, s)
	client, srv := connect(t, p, s)

	data := pattern(8<<20, 9)
	var received atomic.Int64
	got := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		b := make([]byte, 50_000)
		srv.SetReadDeadline(time.Now().Add(patience))
		for buf.Len() < len(data) {
			n, err := srv.Read(b)
			buf.Write(b[:n])
			received.Add(int64(n))
			if err != nil {
				break
			}
		}
		got <- buf.Bytes()
	}()
	wrote := make(chan error, 1)
	go func() {
		_, err := client.Write(data)
		wrote <- err
	}()

	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40 && received.Load() < int64(len(data)); i++ {
		p.Freeze()
		at := p.Stats().ClientToTarget
		time.Sleep(time.Millisecond) // room for a bug to move bytes
		if now := p.Stats().ClientToTarget; now != at {
			t.Fatalf("%d bytes forwarded after Freeze returned", now-at)
		}
		if n := received.Load(); n > at {
			t.Fatalf("server received %d bytes, the proxy wrote %d", n, at)
		}
		if i%2 == 0 {
			p.Delay(time.Duration(r.IntN(3)) * time.Millisecond)
		} else {
			p.Pass()
		}
		time.Sleep(time.Millisecond)
	}
	p.Pass()
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("received %d bytes that differ from the %d sent", len(b), len(data))
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
}

func TestResetAllResetsBothEnds(t *testing.T) {
	for _, tc := range modes {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t)
			p := listen(t, s)
			c1, s1 := connect(t, p, s)
			c2, s2 := connect(t, p, s)
			waitFor(t, "two open connections", func() bool { return p.Stats().Open == 2 })
			tc.set(p)
			if n := p.ResetAll(); n != 2 {
				t.Fatalf("ResetAll reset %d connections, want 2", n)
			}
			for _, c := range []net.Conn{c1, s1, c2, s2} {
				expectReset(t, c)
			}
			waitFor(t, "no open connection", func() bool { return p.Stats().Open == 0 })

			p.Pass()
			c3, s3 := connect(t, p, s) // the proxy still serves
			writeAll(t, c3, []byte("again"))
			expect(t, s3, []byte("again"))
		})
	}
}

func TestResetPropagates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		serverEnd bool // whether the server's end resets
	}{{"server resets", true}, {"client resets", false}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t)
			p := listen(t, s)
			client, srv := connect(t, p, s)
			from, to := client, srv
			if tc.serverEnd {
				from, to = srv, client
			}
			closeConn(from.(*net.TCPConn), true)
			expectReset(t, to)
			waitFor(t, "no open connection", func() bool { return p.Stats().Open == 0 })
		})
	}
}

func TestRefuse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refuse func(*Proxy, *server)
	}{
		{"SetRefuse", func(p *Proxy, _ *server) { p.SetRefuse(true) }},
		{"target down", func(_ *Proxy, s *server) { s.close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t)
			p := listen(t, s)
			tc.refuse(p, s)
			for i := 1; i <= 2; i++ {
				expectRefused(t, p.Addr())
				waitFor(t, "the refusal to be counted", func() bool { return p.Stats().Refused == int64(i) })
			}
			waitFor(t, "no open connection", func() bool { return p.Stats().Open == 0 })
			select {
			case <-s.conns:
				t.Fatal("the target accepted a refused connection")
			default:
			}
			if got := p.Stats(); got.Accepted != 2 {
				t.Fatalf("stats %+v, want 2 accepted", got)
			}
		})
	}
}

func TestRefuseOff(t *testing.T) {
	s := startServer(t)
	p := listen(t, s)
	old, oldSrv := connect(t, p, s)
	p.SetRefuse(true)
	expectRefused(t, p.Addr())
	writeAll(t, old, []byte("still")) // existing connections are untouched
	expect(t, oldSrv, []byte("still"))
	p.SetRefuse(false)
	client, srv := connect(t, p, s)
	writeAll(t, client, []byte("back"))
	expect(t, srv, []byte("back"))
}

// expectRefused checks that a connection to addr is reset: at once, or, if
// the reset beats the end of the dial, as the dial's error.
func expectRefused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("dial error %v; want ECONNRESET", err)
		}
		return
	}
	defer c.Close()
	expectReset(t, c)
}

var modes = []struct {
	name string
	set  func(*Proxy)
}{
	{"pass", (*Proxy).Pass},
	{"freeze", (*Proxy).Freeze},
	{"blackhole", (*Proxy).Blackhole},
	{"delay", func(p *Proxy) { p.Delay(time.Hour) }},
}

func TestCloseInEveryModeLeavesNothing(t *testing.T) {
	cases := append(modes[:len(modes):len(modes)], struct {
		name string
		set  func(*Proxy)
	}{"refuse", func(p *Proxy) { p.SetRefuse(true) }})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			s := startServer(t)
			p, err := Listen(s.addr(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			client, srv := connect(t, p, s)
			tc.set(p)
			writeAll(t, client, pattern(20_000, 10)) // small enough for kernel buffers
			writeAll(t, srv, pattern(20_000, 11))
			open := []net.Conn{client}
			late, err := net.Dial("tcp", p.Addr())
			switch {
			case err == nil:
				defer late.Close()
				open = append(open, late)
			case tc.name != "refuse" || !errors.Is(err, syscall.ECONNRESET):
				t.Fatal(err) // only a refusal may beat the end of the dial
			}
			waitFor(t, "the late connection", func() bool { return p.Stats().Accepted == 2 })

			var wg sync.WaitGroup
			for _, c := range open {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.SetReadDeadline(time.Now().Add(patience))
					_, err := io.Copy(io.Discard, c)
					if isTimeout(err) {
						t.Error("the connection outlived the proxy")
					}
				}()
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if got := p.Stats().Open; got != 0 {
				t.Fatalf("%d connections open after Close", got)
			}
			wg.Wait()
			if err := p.Close(); err != nil {
				t.Fatal("second Close:", err)
			}
			s.close()
			goleak.VerifyNone(t, before)
		})
	}
}

func TestListenOnLoopback(t *testing.T) {
	p, err := Listen("127.0.0.1:1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	host, port, err := net.SplitHostPort(p.Addr())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addr %q (%v), want 127.0.0.1 and a port", p.Addr(), err)
	}
	if p.dialer.Timeout != 5*time.Second {
		t.Fatalf("dial timeout %v, want the 5s default", p.dialer.Timeout)
	}
}
