package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/longlink/longlink/rpc"
)

// Idle connections: a provider holding many connections whose clients only
// heartbeat. The provider and the clients run in two child processes (this
// binary, re-executed with -role), so that the provider's memory and CPU
// are its own. They talk to the parent through stdin and stdout lines.

// idleReport is what the provider process measured.
type idleReport struct {
	Conns         int           `json:"conns"`     // connections accepted
	Heartbeat     time.Duration `json:"heartbeat"` // clients' HeartbeatInterval
	Window        time.Duration `json:"window"`    // CPU measurement window
	BaseHeap      uint64        `json:"base_heap"` // HeapInuse+StackInuse before any connection
	HeapStart     uint64        `json:"heap_start"`
	HeapEnd       uint64        `json:"heap_end"`
	StackStart    uint64        `json:"stack_start"`
	StackEnd      uint64        `json:"stack_end"`
	BaseStack     uint64        `json:"base_stack"`
	BaseRSS       uint64        `json:"base_rss"`
	RSSEnd        uint64        `json:"rss_end"`
	CPU           time.Duration `json:"cpu"` // provider CPU over Window
	Goroutines    int           `json:"goroutines"`
	BaseGoroutine int           `json:"base_goroutines"`
	ClientsAlive  int           `json:"clients_alive"` // client connections still open at the end
	ClientCPU     time.Duration `json:"client_cpu"`    // the client process's CPU over about the same window
	Dial          time.Duration `json:"dial"`          // time to open every connection
	Pongs         int64         `json:"pongs"`         // raw server only: pongs written over Window
}

func (r *idleReport) perConn(total, base uint64) float64 {
	if r.Conns == 0 {
		return 0
	}
	return (float64(total) - float64(base)) / float64(r.Conns)
}

// runIdle runs the suite: n connections heartbeating every hb, provider CPU
// measured over window.
// With profile set, the provider writes a CPU profile of the window to
// profile+"-idle-server.prof".
// With raw set, the provider is the raw pong server instead of longlink's.
func runIdle(n int, hb, window time.Duration, profile string, raw bool, prog *progress) (*idleReport, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	role, what := "-role=idle-server", "longlink provider"
	if raw {
		role, what, profile = "-role=idle-raw-server", "raw pong server", ""
	}
	srv, err := startChild(exe, role, "-idle-duration="+window.String(), "-cpuprofile="+profile)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	addr, err := srv.expect("addr")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	cli, err := startChild(exe, "-role=idle-clients", "-addr="+addr, "-idle-conns="+strconv.Itoa(n), "-idle-heartbeat="+hb.String())
	if err != nil {
		return nil, err
	}
	defer cli.stop()
	ready, err := cli.expect("ready")
	if err != nil {
		return nil, err
	}
	dial := time.Since(start)
	prog.note("[idle] %s client connections open after %v; measuring the %s for %v", ready, dial.Round(time.Millisecond), what, window)
	cpu0, err := cli.ask("cpu")
	if err != nil {
		return nil, err
	}
	line, err := srv.ask("measure " + ready)
	if err != nil {
		return nil, err
	}
	cpu1, err := cli.ask("cpu")
	if err != nil {
		return nil, err
	}
	var rep idleReport
	if err := json.Unmarshal([]byte(line), &rep); err != nil {
		return nil, fmt.Errorf("provider report %q: %w", line, err)
	}
	rep.Dial, rep.Heartbeat = dial, hb
	c0, _ := time.ParseDuration(cpu0)
	c1, _ := time.ParseDuration(cpu1)
	rep.ClientCPU = c1 - c0
	alive, err := cli.ask("alive")
	if err != nil {
		return nil, err
	}
	rep.ClientsAlive, _ = strconv.Atoi(alive)
	prog.done(window+20*time.Second, "[idle] %s, %d connections: %.1f KiB each, CPU %.2f %% of a core",
		what, rep.Conns, rep.perConn(rep.HeapEnd+rep.StackEnd, rep.BaseHeap+rep.BaseStack)/1024, 100*rep.CPU.Seconds()/rep.Window.Seconds())
	return &rep, nil
}

// child is a re-executed copy of this binary, driven by lines.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	name  string
	waits chan error
}

func startChild(exe string, args ...string) (*child, error) {
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(out), name: args[0], waits: make(chan error, 1)}
	c.out.Buffer(nil, 1<<20)
	return c, nil
}

// expect reads the next line, which must start with word, and returns the rest.
func (c *child) expect(word string) (string, error) {
	if !c.out.Scan() {
		return "", fmt.Errorf("%s: exited before %q: %v", c.name, word, c.out.Err())
	}
	rest, ok := strings.CutPrefix(c.out.Text(), word+" ")
	if !ok {
		return "", fmt.Errorf("%s: got %q, want %q", c.name, c.out.Text(), word)
	}
	return rest, nil
}

// ask sends a command line and returns the answer line.
func (c *child) ask(cmd string) (string, error) {
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return "", err
	}
	word, _, _ := strings.Cut(cmd, " ")
	return c.expect(word)
}

// stop closes the child's stdin, which ends it, and waits.
func (c *child) stop() {
	_ = c.in.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// countingListener counts accepted connections. It returns them unwrapped,
// so that the server configures them as it would any TCP connection.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

func heapAndStack() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse
}

// rss returns the process's resident set size in bytes.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// idleServerMain is the provider process: "addr A" once listening; on
// "measure N", waits for N connections, measures, answers "measure {json}".
// Ends when stdin closes.
// With raw set, it serves with servePongs instead of an rpc.Server.
func idleServerMain(window time.Duration, profile string, raw bool) error {
	raiseFileLimit()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ln := &countingListener{Listener: inner}
	var pongs atomic.Int64
	addr := ln.Addr().String()
	if raw {
		srv := serveTCP(ln, func(nc net.Conn) { servePongs(nc, &pongs) })
		defer srv.close()
	} else {
		prov, err := startProvider(ln, rpc.ServerOptions{})
		if err != nil {
			return err
		}
		defer prov.close()
		addr = prov.addr
	}
	var rep idleReport
	rep.BaseHeap, rep.BaseStack = heapAndStack()
	rep.BaseRSS = rss()
	rep.BaseGoroutine = runtime.NumGoroutine()
	fmt.Println("addr", addr)

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		n, ok := strings.CutPrefix(in.Text(), "measure ")
		if !ok {
			continue
		}
		want, _ := strconv.Atoi(n)
		for deadline := time.Now().Add(time.Minute); ln.accepted.Load() < int64(want) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(2 * time.Second) // a couple of heartbeats on every connection
		rep.Conns = int(ln.accepted.Load())
		rep.Window = window
		rep.HeapStart, rep.StackStart = heapAndStack()
		stopProfile := func() {}
		if profile != "" {
			stopProfile = startProfile(profile+"-idle-server", false)
		}
		c0, t0, p0 := cpuTime(), time.Now(), pongs.Load()
		time.Sleep(window)
		rep.CPU, rep.Window, rep.Pongs = cpuTime()-c0, time.Since(t0), pongs.Load()-p0
		stopProfile()
		rep.HeapEnd, rep.StackEnd = heapAndStack()
		rep.RSSEnd = rss()
		rep.Goroutines = runtime.NumGoroutine()
		b, _ := json.Marshal(&rep)
		fmt.Println("measure", string(b))
	}
	return nil
}

// idleClientsMain is the client process: opens n connections to addr with
// heartbeats every hb and answers "ready N"; then answers "cpu" with its CPU
// time and "alive" with how many connections are still open. Ends, closing
// them, when stdin closes.
func idleClientsMain(addr string, n int, hb time.Duration) error {
	raiseFileLimit()
	conns := make([]*rpc.Conn, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				c, err := rpc.Dial(context.Background(), addr, rpc.ClientOptions{HeartbeatInterval: hb, Logger: quiet, DialTimeout: 30 * time.Second})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	defer func() {
		var wg sync.WaitGroup
		for _, c := range conns {
			if c != nil {
				wg.Go(func() { _ = c.Close() })
			}
		}
		wg.Wait()
	}()
	if firstErr != nil {
		return firstErr
	}
	fmt.Println("ready", n)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "cpu":
			fmt.Println("cpu", cpuTime())
		case "alive":
			alive := 0
			for _, c := range conns {
				if c.State() != rpc.StateClosed {
					alive++
				}
			}
			fmt.Println("alive", alive)
		}
	}
	return nil
}

// servePongs is the floor for the idle suite, run for each connection: it
// reads longlink frames straight from the socket and answers each ping with
// a pong, and does nothing else (no buffers, no idle checks, no writer). It
// returns when nc fails.
func servePongs(nc net.Conn, pongs *atomic.Int64) {
	var h [16]byte
	for {
		if _, err := io.ReadFull(nc, h[:]); err != nil {
			return
		}
		if n := binary.BigEndian.Uint32(h[12:]); n > 0 {
			if _, err := io.CopyN(io.Discard, nc, int64(n)); err != nil {
				return
			}
			continue
		}
		const ping = 0xe0 // event, request, two-way
		if h[2]&0xe0 != ping {
			continue
		}
		h[2] = 0x20 | h[2]&0x1f // event: the pong, same status (heartbeat) and id
		if _, err := nc.Write(h[:]); err != nil {
			return
		}
		pongs.Add(1)
	}
}
