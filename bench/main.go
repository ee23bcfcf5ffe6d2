// Command bench measures longlink side by side with gRPC-go, net/rpc and a
// raw framed echo, interleaved in one process on loopback, and measures
// longlink's connection economics: a long connection against a connection
// per call, how fast a dead provider is detected, and what idle heartbeating
// connections cost a provider. See README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is the command line.
type config struct {
	suites   []string
	systems  []string
	msgs     []string
	concs    []int
	duration time.Duration
	warmup   time.Duration
	rounds   int
	rawCodec bool
	out      string
	quick    bool

	perconnConcs    []int
	perconnDuration time.Duration

	detectConfigs []string
	detectTrials  int
	detectBound   time.Duration
	netns         bool

	idleConns     int
	idleHeartbeat time.Duration
	idleDuration  time.Duration

	profile profileConfig

	role string // internal: this process is a child of the idle suite
	addr string
}

var allSuites = []string{"throughput", "perconn", "detect", "idle"}

func parseFlags() (*config, error) {
	c := &config{}
	var suites, systems, msgs, concs, perconnConcs, detectCfgs, profSystems string
	flag.StringVar(&suites, "suites", strings.Join(allSuites, ","), "suites to run")
	flag.StringVar(&systems, "systems", "longlink,longlink-4conn,grpc,netrpc,raw,raw-rpc", "systems for the throughput suite")
	flag.StringVar(&msgs, "msgs", msgLarge+","+msgTiny, "messages for the throughput suite")
	flag.StringVar(&concs, "conc", "100,1000", "concurrency levels (calling goroutines) for the throughput suite")
	flag.DurationVar(&c.duration, "duration", 4*time.Second, "measured time per system per case per round")
	flag.DurationVar(&c.warmup, "warmup", 500*time.Millisecond, "warm-up before each measured slice")
	flag.IntVar(&c.rounds, "rounds", 3, "interleaved rounds")
	flag.BoolVar(&c.rawCodec, "raw-codec", true, "raw echo: encode requests and decode replies with msgpack on the client")
	flag.StringVar(&c.out, "out", "results", "output directory (-quick: results/quick)")
	flag.BoolVar(&c.quick, "quick", false, "smoke run, well under a minute: short slices, one round, fewer trials, 500 idle connections")
	flag.StringVar(&perconnConcs, "perconn-conc", "1,10,100", "concurrency levels for long connection vs connection per call")
	flag.DurationVar(&c.perconnDuration, "perconn-duration", 2*time.Second, "measured time per slice, long connection vs connection per call")
	flag.StringVar(&detectCfgs, "detect-configs", "default,aggressive,keepalive", "detection settings: default (2 s x 3), aggressive (200 ms x 3), keepalive (TCP keepalive 1 s only)")
	flag.IntVar(&c.detectTrials, "detect-trials", 3, "trials per detection scenario")
	flag.DurationVar(&c.detectBound, "detect-bound", 30*time.Second, "longest wait for a detection")
	flag.BoolVar(&c.netns, "netns", true, "also drop packets in the kernel (network namespace + iptables; needs root)")
	flag.IntVar(&c.idleConns, "idle-conns", 10000, "idle connections held by the provider")
	flag.DurationVar(&c.idleHeartbeat, "idle-heartbeat", time.Second, "idle clients' HeartbeatInterval")
	flag.DurationVar(&c.idleDuration, "idle-duration", 30*time.Second, "window over which the provider's CPU is measured")
	flag.StringVar(&c.profile.prefix, "cpuprofile", "", "write a CPU profile of each measured slice of -profile-systems to PREFIX-system-msg-cN-rR.prof, and of the idle provider to PREFIX-idle-server.prof")
	flag.BoolVar(&c.profile.allocs, "allocprofile", false, "with -cpuprofile, also write allocation profiles at the start and end of each profiled slice (...-allocs-base.prof, ...-allocs.prof)")
	flag.StringVar(&profSystems, "profile-systems", "longlink", "systems to profile with -cpuprofile")
	flag.StringVar(&c.role, "role", "", "internal: idle-server, idle-raw-server or idle-clients")
	flag.StringVar(&c.addr, "addr", "", "internal: the provider's address, for -role=idle-clients")
	flag.Parse()

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.quick {
		quick := map[string]func(){
			"duration":         func() { c.duration = 300 * time.Millisecond },
			"warmup":           func() { c.warmup = 100 * time.Millisecond },
			"rounds":           func() { c.rounds = 1 },
			"out":              func() { c.out = filepath.Join("results", "quick") },
			"perconn-duration": func() { c.perconnDuration = 300 * time.Millisecond },
			"detect-configs":   func() { detectCfgs = "aggressive,keepalive" },
			"detect-trials":    func() { c.detectTrials = 1 },
			"detect-bound":     func() { c.detectBound = 3 * time.Second },
			"idle-conns":       func() { c.idleConns = 500 },
			"idle-duration":    func() { c.idleDuration = 3 * time.Second },
		}
		for name, apply := range quick {
			if !set[name] {
				apply()
			}
		}
	}

	var err error
	c.suites, c.systems, c.msgs = split(suites), split(systems), split(msgs)
	c.detectConfigs, c.profile.systems = split(detectCfgs), split(profSystems)
	if c.concs, err = ints(concs); err != nil {
		return nil, fmt.Errorf("-conc: %w", err)
	}
	if c.perconnConcs, err = ints(perconnConcs); err != nil {
		return nil, fmt.Errorf("-perconn-conc: %w", err)
	}
	for _, s := range c.suites {
		if !slices.Contains(allSuites, s) {
			return nil, fmt.Errorf("-suites: unknown suite %q (want some of %s)", s, strings.Join(allSuites, ","))
		}
	}
	for _, m := range c.msgs {
		if _, _, _, err := newMessages(m); err != nil {
			return nil, fmt.Errorf("-msgs: %w", err)
		}
	}
	if c.rounds < 1 || c.detectTrials < 1 {
		return nil, fmt.Errorf("-rounds and -detect-trials must be at least 1")
	}
	return c, nil
}

func split(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range split(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func (c *config) has(suite string) bool { return slices.Contains(c.suites, suite) }

// throughputSystems returns the selected systems, in the order given.
func (c *config) throughputSystems() ([]systemSpec, error) {
	known := []systemSpec{longlinkSpec("longlink", 0), longlinkSpec("longlink-4conn", 4), grpcSpec, netrpcSpec,
		rawSpec(c.rawCodec, false), rawSpec(true, true)}
	var out []systemSpec
	for _, name := range c.systems {
		i := slices.IndexFunc(known, func(s systemSpec) bool { return s.name == name })
		if i < 0 {
			return nil, fmt.Errorf("-systems: unknown system %q", name)
		}
		out = append(out, known[i])
	}
	return out, nil
}

func (c *config) throughputPlan() (*roundsPlan, error) {
	specs, err := c.throughputSystems()
	if err != nil {
		return nil, err
	}
	p := &roundsPlan{suite: "throughput", systems: specs, rounds: c.rounds, warmup: c.warmup,
		duration: c.duration, warmRun: true, profile: c.profile}
	for _, m := range c.msgs {
		for _, n := range c.concs {
			p.cases = append(p.cases, benchCase{msg: m, conc: n})
		}
	}
	return p, nil
}

func main() {
	c, err := parseFlags()
	if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(c *config) error {
	switch c.role {
	case "idle-server", "idle-raw-server":
		return idleServerMain(c.idleDuration, c.profile.prefix, c.role == "idle-raw-server")
	case "idle-clients":
		return idleClientsMain(c.addr, c.idleConns, c.idleHeartbeat)
	case "":
	default:
		return fmt.Errorf("-role: unknown role %q", c.role)
	}
	raiseFileLimit()
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}

	rep := &report{cfg: c, env: readEnv(), started: time.Now()}
	rep.loadAvg[0] = loadAverage()
	var planned time.Duration
	var tput, perconn *roundsPlan
	if c.has("throughput") {
		p, err := c.throughputPlan()
		if err != nil {
			return err
		}
		tput = p
		planned += p.planned()
	}
	if c.has("perconn") {
		perconn = perconnPlan(c.perconnConcs, c.rounds, c.warmup, c.perconnDuration)
		planned += perconn.planned()
	}
	if c.has("detect") {
		planned += c.detectBound + 10*time.Second
	}
	if c.has("idle") {
		planned += 2 * (c.idleDuration + 20*time.Second)
	}
	prog := newProgress(planned)
	prog.note("bench: suites %s; about %v planned; results to %s", strings.Join(c.suites, ","), planned.Round(time.Second), c.out)

	var err error
	if tput != nil {
		if rep.throughput, err = tput.run(prog); err != nil {
			return err
		}
	}
	if perconn != nil {
		if rep.perconn, err = perconn.run(prog); err != nil {
			return err
		}
	}
	if c.has("detect") {
		rep.detect = runDetect(c.detectTrials, c.detectBound, c.netns, selectedDetectConfigs(c.detectConfigs), prog)
	}
	if c.has("idle") {
		if rep.idle, err = runIdle(c.idleConns, c.idleHeartbeat, c.idleDuration, c.profile.prefix, false, prog); err != nil {
			rep.idleErr = err
			prog.note("[idle] failed: %v", err)
		} else if rep.idleRaw, err = runIdle(c.idleConns, c.idleHeartbeat, c.idleDuration, "", true, prog); err != nil {
			prog.note("[idle] the raw pong server failed: %v", err)
		}
	}
	rep.finished = time.Now()
	rep.loadAvg[1] = loadAverage()
	files, err := rep.write(c.out)
	if err != nil {
		return err
	}
	prog.note("bench: wrote %s", strings.Join(files, ", "))
	return nil
}
