package consultest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartTimeout bounds how long Start and Restart wait for an agent to elect
// itself leader. Generous: a loaded 2-core machine can be slow.
const StartTimeout = 90 * time.Second

// Options configure an agent beyond the defaults. The zero value is a plain
// -dev agent.
type Options struct {
	// HCL is extra agent configuration, passed with -hcl; for example
	// `acl { enabled = true default_policy = "deny" tokens { initial_management = "root" } }`.
	HCL string
	// Token, when set, is an ACL token that Start waits to see accepted
	// (ACL bootstrapping finishes a little after leader election).
	Token string
}

// Agent is a running (or stopped) Consul -dev agent owned by one test.
type Agent struct {
	bin     string
	ports   ports
	opts    Options
	dir     string // working directory of the agent process
	logPath string // the agent's stdout and stderr, appended across restarts

	mu sync.Mutex
	// proc is the running agent, nil while stopped. Guarded by mu.
	proc *process
}

// process is one run of the agent binary.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait has returned
	err    error         // cmd.Wait's result, set before exited is closed
}

// Start starts a -dev agent for t and stops it when t ends. See the package
// documentation for what happens when no agent can be had.
func Start(t testing.TB) *Agent { return StartWith(t, Options{}) }

// StartWith is Start with extra configuration.
func StartWith(t testing.TB, opts Options) *Agent {
	t.Helper()
	bin, err := BinaryPath()
	if err != nil {
		unavailable(t, "cannot build the Consul agent: %v", err)
	}
	dir := t.TempDir()
	a := &Agent{bin: bin, opts: opts, dir: dir, logPath: filepath.Join(dir, "agent.log")}
	t.Cleanup(func() {
		a.Stop()
		if t.Failed() {
			t.Logf("consultest: last lines of the Consul agent's log (%s):\n%s", a.Addr(), a.logTail(60))
		}
	})
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		p, err := freePorts()
		if err != nil {
			unavailable(t, "%v", err)
		}
		a.ports = p
		if lastErr = a.start(); lastErr == nil {
			return a
		}
		a.Stop()
	}
	unavailable(t, "cannot start the Consul agent (3 attempts): %v\n%s", lastErr, a.logTail(30))
	return nil
}

// unavailable skips the test, or fails it when CI is "true".
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("consultest: "+format, args...)
	}
	t.Skipf("consultest: skipping, no Consul agent: "+format, args...)
}

// Addr returns the host:port of the agent's HTTP API.
func (a *Agent) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.ports.http))
}

// Stop kills the agent and waits for it to exit. It does nothing if the agent
// is not running.
func (a *Agent) Stop() {
	a.mu.Lock()
	p := a.proc
	a.proc = nil
	a.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Restart starts the agent again on the same ports, stopping it first if it
// runs, and waits until it is leader. The restarted agent has lost every
// registration. It fails t if the agent does not come back.
func (a *Agent) Restart(t testing.TB) {
	t.Helper()
	a.Stop()
	if err := a.start(); err != nil {
		a.Stop()
		t.Fatalf("consultest: restarting the Consul agent on %s: %v\n%s", a.Addr(), err, a.logTail(30))
	}
}

// start runs the binary and waits until the agent is ready.
func (a *Agent) start() error {
	logFile, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	fmt.Fprintf(logFile, "\n==> consultest: starting agent, HTTP %s\n", a.Addr())
	args := []string{
		"-dev",
		"-node", "consultest-" + strconv.Itoa(a.ports.http),
		"-client", "127.0.0.1",
		"-bind", "127.0.0.1",
		"-http-port", strconv.Itoa(a.ports.http),
		"-server-port", strconv.Itoa(a.ports.server),
		"-serf-lan-port", strconv.Itoa(a.ports.serfLAN),
		"-serf-wan-port", strconv.Itoa(a.ports.serfWAN),
		"-grpc-port", "-1",
		"-grpc-tls-port", "-1",
		"-dns-port", "-1",
	}
	if a.opts.HCL != "" {
		args = append(args, "-hcl", a.opts.HCL)
	}
	cmd := exec.Command(a.bin, args...)
	cmd.Dir = a.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	a.mu.Lock()
	a.proc = p
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	return a.waitReady(ctx, p)
}

// readyCheck is one condition of waitReady: GET path (with token) answers
// 200 and ok accepts the body.
type readyCheck struct {
	path, token string
	ok          func(body string) bool
}

// waitReady polls the agent until it has a leader, its own node is in the
// catalog and (if Options.Token is set) the token is accepted; it gives up
// when ctx ends or the process exits.
func (a *Agent) waitReady(ctx context.Context, p *process) error {
	checks := []readyCheck{
		{path: "/v1/status/leader", ok: func(b string) bool { return strings.Trim(strings.TrimSpace(b), `"`) != "" }},
		{path: "/v1/catalog/node/consultest-" + strconv.Itoa(a.ports.http), token: a.opts.Token,
			ok: func(b string) bool { return strings.Contains(b, `"Node"`) }},
	}
	if a.opts.Token != "" {
		checks = append(checks, readyCheck{path: "/v1/acl/token/self", token: a.opts.Token, ok: func(string) bool { return true }})
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for _, c := range checks {
		for {
			body, err := get(ctx, client, "http://"+a.Addr()+c.path, c.token)
			if err == nil && c.ok(body) {
				break
			}
			if err == nil {
				err = fmt.Errorf("GET %s: not ready: %.200s", c.path, body)
			}
			select {
			case <-tick.C:
			case <-p.exited:
				return fmt.Errorf("the agent exited: %v", p.err)
			case <-ctx.Done():
				return fmt.Errorf("not ready within %v: %w", StartTimeout, err)
			}
		}
	}
	return nil
}

// get returns the body of a 200 answer to GET url.
func get(ctx context.Context, client *http.Client, url, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("X-Consul-Token", token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	}
	return string(body), nil
}

// logTail returns the last n lines of the agent's log.
func (a *Agent) logTail(n int) string {
	b, err := os.ReadFile(a.logPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no agent log)"
		}
		return fmt.Sprintf("(agent log: %v)", err)
	}
	return tail(string(b), n)
}
