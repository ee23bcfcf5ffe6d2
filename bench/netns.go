package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// netns is a network namespace joined to the host by a veth pair, so that a
// server inside it can be cut off by the kernel (iptables DROP): a real
// blackhole, where no TCP stack answers, unlike a frozen userspace proxy.
type netns struct {
	name   string
	hostIP string // the host end of the veth pair
	nsIP   string // the namespace end, where servers listen
}

// setupNetns creates the namespace, or says why it cannot.
func setupNetns() (*netns, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root (ip netns, iptables)")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not installed (apt-get install -y iproute2 iptables)", tool)
		}
	}
	pid := os.Getpid()
	subnet := fmt.Sprintf("10.213.%d.", pid%250)
	n := &netns{name: "llbench" + strconv.Itoa(pid), hostIP: subnet + "1", nsIP: subnet + "2"}
	hostIf, nsIf := "llbh"+strconv.Itoa(pid), "llbn"+strconv.Itoa(pid)
	steps := [][]string{
		{"ip", "netns", "add", n.name},
		{"ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", n.name},
		{"ip", "addr", "add", n.hostIP + "/30", "dev", hostIf},
		{"ip", "link", "set", hostIf, "up"},
		{"ip", "netns", "exec", n.name, "ip", "addr", "add", n.nsIP + "/30", "dev", nsIf},
		{"ip", "netns", "exec", n.name, "ip", "link", "set", nsIf, "up"},
		{"ip", "netns", "exec", n.name, "ip", "link", "set", "lo", "up"},
		{"ip", "netns", "exec", n.name, "iptables", "-w", "-L", "-n"},
	}
	for i, s := range steps {
		if err := command(s...); err != nil {
			if i > 0 {
				n.close()
			}
			return nil, err
		}
	}
	return n, nil
}

func command(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// listen opens a TCP listener inside the namespace: the socket is created
// on a thread switched into it, and keeps the namespace for its life.
func (n *netns) listen() (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: the thread, now in the namespace, exits with
		// this goroutine instead of running other goroutines.
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + n.name)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, fmt.Errorf("setns: %w", err)}
			return
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(n.nsIP, "0"))
		ch <- result{ln, err}
	}()
	r := <-ch
	return r.ln, r.err
}

// drop makes the namespace's kernel drop (on) or pass (off) every TCP
// segment to and from port, in both directions.
func (n *netns) drop(port int, on bool) error {
	op := "-D"
	if on {
		op = "-I"
	}
	p := strconv.Itoa(port)
	for _, rule := range [][]string{{"INPUT", "--dport", p}, {"OUTPUT", "--sport", p}} {
		args := []string{"ip", "netns", "exec", n.name, "iptables", "-w", op, rule[0], "-p", "tcp", rule[1], rule[2], "-j", "DROP"}
		if err := command(args...); err != nil {
			return err
		}
	}
	return nil
}

// close deletes the namespace and, with it, the veth pair.
func (n *netns) close() { _ = command("ip", "netns", "del", n.name) }
