package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/internal/benchmsg"
	"github.com/longlink/longlink/internal/faultnet"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/rpc"
)

// Failure detection: how long after a provider stops answering its
// connection is evicted from the consumer's pool. The consumer is a
// longlink.Client over a pool.Manager; eviction is the connection's
// OnStateChange(StateClosed). Every trial has its own provider, proxy and
// client, and all trials run at once: they spend their time waiting.

// Faults.
const (
	faultFreeze    = "freeze"      // faultnet Proxy.Freeze: a hung peer whose kernel still ACKs
	faultBlackhole = "blackhole"   // faultnet Proxy.Blackhole: bytes eaten, still ACKed
	faultKernel    = "kernel drop" // iptables DROP in a network namespace: nothing answers
)

// detectConfig is a connection setting under test.
type detectConfig struct {
	key  string // as -detect-configs names it
	name string
	conn rpc.ClientOptions
	// expect says what should happen, in theory.
	expect map[string]string
}

// detectConfigs are longlink's defaults, aggressive heartbeats, and TCP
// keepalive alone.
func detectConfigs() []detectConfig {
	return []detectConfig{
		{
			key:    "default",
			name:   "heartbeat 2 s x 3 (default)",
			conn:   rpc.ClientOptions{},
			expect: map[string]string{"": "3 to 4 intervals after the last byte read: 6 to 8 s (idle: the last read may precede the fault)"},
		},
		{
			key:    "aggressive",
			name:   "heartbeat 200 ms x 3",
			conn:   rpc.ClientOptions{HeartbeatInterval: 200 * time.Millisecond, MaxMissedHeartbeats: 3},
			expect: map[string]string{"": "3 to 4 intervals after the last byte read: 0.6 to 0.8 s (idle: the last read may precede the fault)"},
		},
		{
			key:  "keepalive",
			name: "TCP keepalive 1 s only (HeartbeatInterval: -1)",
			conn: rpc.ClientOptions{HeartbeatInterval: -1, TCPKeepAlive: time.Second},
			expect: map[string]string{
				faultFreeze:           "never: the proxy's kernel still ACKs data and keepalive probes",
				faultBlackhole:        "never: the proxy's kernel still ACKs data and keepalive probes",
				faultKernel + "/idle": "1 s idle + 3 unanswered probes 1 s apart: about 4 s",
				faultKernel + "/load": "not by keepalive: it does not probe while data is unacknowledged; " +
					"retransmissions give up after about 15 min (tcp_retries2)",
			},
		},
	}
}

// selectedDetectConfigs returns the configs named by keys, in their order.
func selectedDetectConfigs(keys []string) []detectConfig {
	var out []detectConfig
	for _, c := range detectConfigs() {
		if slices.Contains(keys, c.key) {
			out = append(out, c)
		}
	}
	return out
}

func (c detectConfig) expectation(fault, traffic string) string {
	for _, k := range []string{fault + "/" + traffic, fault, ""} {
		if e, ok := c.expect[k]; ok {
			return e
		}
	}
	return ""
}

// detectScenario is a fault, a setting and a traffic pattern: "load" is a
// call every 20 ms until the fault (so calls are in flight when it
// strikes), "idle" is no call after the first.
type detectScenario struct {
	fault   string
	config  detectConfig
	traffic string
}

type trialResult struct {
	detected bool
	after    time.Duration
	reason   string
	err      error // the trial could not run
}

// detectResult is one scenario's trials.
type detectResult struct {
	scenario detectScenario
	trials   []trialResult
	skipped  string // why the scenario did not run
}

// detectReport is the whole detection suite.
type detectReport struct {
	bound   time.Duration
	trials  int
	results []*detectResult
	netns   string // why kernel-level scenarios were skipped, if they were
	leaked  int    // goroutines still running after every trial was stopped
}

// runDetect runs every scenario's trials concurrently.
func runDetect(trials int, bound time.Duration, withNetns bool, configs []detectConfig, prog *progress) *detectReport {
	rep := &detectReport{bound: bound, trials: trials}
	before := runtime.NumGoroutine()
	var ns *netns
	if withNetns {
		var err error
		if ns, err = setupNetns(); err != nil {
			rep.netns = err.Error()
		} else {
			defer ns.close()
		}
	} else {
		rep.netns = "disabled by -netns=false"
	}
	var wg sync.WaitGroup
	for _, fault := range []string{faultFreeze, faultBlackhole, faultKernel} {
		for _, cfg := range configs {
			for _, traffic := range []string{"load", "idle"} {
				dr := &detectResult{scenario: detectScenario{fault: fault, config: cfg, traffic: traffic}}
				rep.results = append(rep.results, dr)
				if fault == faultKernel && ns == nil {
					dr.skipped = rep.netns
					continue
				}
				dr.trials = make([]trialResult, trials)
				for i := range dr.trials {
					wg.Go(func() { dr.trials[i] = runTrial(dr.scenario, ns, bound) })
				}
			}
		}
	}
	wg.Wait()
	rep.leaked = waitGoroutines(before, 5*time.Second)
	line := fmt.Sprintf("[detect] %d scenarios x %d trials done", len(rep.results), trials)
	if rep.leaked > 0 {
		line += fmt.Sprintf("  WARNING: %d goroutines still running after stop", rep.leaked)
	}
	prog.done(bound+10*time.Second, "%s", line)
	return rep
}

type closeEvent struct {
	at  time.Time
	err error
}

// runTrial starts a provider behind the fault, connects, lets traffic
// flow, injects the fault and waits (at most bound) for the eviction.
func runTrial(sc detectScenario, ns *netns, bound time.Duration) trialResult {
	var ln net.Listener
	if sc.fault == faultKernel {
		var err error
		if ln, err = ns.listen(); err != nil {
			return trialResult{err: err}
		}
	}
	// No idle timeout: only the client's own checks may notice the fault.
	prov, err := startProvider(ln, rpc.ServerOptions{IdleTimeout: -1})
	if err != nil {
		return trialResult{err: err}
	}
	defer prov.close()
	target := prov.addr
	var proxy *faultnet.Proxy
	if sc.fault != faultKernel {
		if proxy, err = faultnet.Listen(prov.addr, faultnet.Options{}); err != nil {
			return trialResult{err: err}
		}
		defer proxy.Close()
		target = proxy.Addr()
	}

	events := make(chan closeEvent, 64)
	popts := pool.Options{DrainTimeout: 100 * time.Millisecond, Conn: sc.config.conn}
	popts.Conn.OnStateChange = func(_ *rpc.Conn, s rpc.ConnState, err error) {
		if s == rpc.StateClosed {
			select {
			case events <- closeEvent{at: time.Now(), err: err}:
			default:
			}
		}
	}
	client, mgr, err := newLonglinkClient(target, longlink.ClientOptions{Timeout: bound + 10*time.Second, Cluster: longlink.Failfast}, popts)
	if err != nil {
		return trialResult{err: err}
	}
	defer mgr.Close()
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Call(ctx, "Tiny", &benchmsg.Tiny{S: "first"}, new(benchmsg.Tiny)); err != nil {
		return trialResult{err: fmt.Errorf("first call: %w", err)}
	}
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var load sync.WaitGroup
	defer func() { stopLoad(); load.Wait() }()
	// Strike at a random point of the heartbeat (or keepalive) cycle: idle
	// connections read a pong about every two intervals.
	period := max(sc.config.conn.HeartbeatInterval, time.Second)
	settle := time.Second + rand.N(2*period)
	if sc.traffic == "load" {
		load.Go(func() { callEvery(loadCtx, client, 20*time.Millisecond) })
	}
	time.Sleep(settle)
	for len(events) > 0 {
		<-events
	}
	var port int
	if proxy != nil {
		if sc.fault == faultFreeze {
			proxy.Freeze()
		} else {
			proxy.Blackhole()
		}
	} else {
		port = prov.srvPort()
		if err := ns.drop(port, true); err != nil {
			return trialResult{err: err}
		}
		defer func() { _ = ns.drop(port, false) }()
	}
	start := time.Now()
	select {
	case ev := <-events:
		return trialResult{detected: true, after: ev.at.Sub(start), reason: closeReason(ev.err)}
	case <-time.After(bound):
		return trialResult{}
	}
}

// callEvery calls Tiny every interval until ctx ends; calls that hang stay
// in flight (that is the point).
func callEvery(ctx context.Context, c *longlink.Client, interval time.Duration) {
	req, reply := &benchmsg.Tiny{S: "load"}, new(benchmsg.Tiny)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_ = c.Call(ctx, "Tiny", req, reply)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *provider) srvPort() int {
	_, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	return n
}

func closeReason(err error) string {
	switch {
	case errors.Is(err, rpc.ErrHeartbeatTimeout):
		return "heartbeat timeout"
	case errors.Is(err, syscall.ETIMEDOUT):
		return "ETIMEDOUT (TCP)"
	case err == nil:
		return "closed"
	}
	return err.Error()
}

// summary returns min, median and max of the detected trials and how many
// were detected.
func (d *detectResult) summary() (lo, med, hi time.Duration, detected int) {
	var ts []time.Duration
	for _, t := range d.trials {
		if t.detected {
			ts = append(ts, t.after)
		}
	}
	if len(ts) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(ts)
	return ts[0], ts[len(ts)/2], ts[len(ts)-1], len(ts)
}
