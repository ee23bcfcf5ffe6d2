package prometheus

import (
	"strings"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/rpc"
)

// PoolCollector exports connections and pools by state, read from
// pool.Manager.Stats when scraped. It is safe for concurrent use.
type PoolCollector struct {
	managers []*pool.Manager
	conns    *prom.Desc
	pools    *prom.Desc
}

var _ prom.Collector = (*PoolCollector)(nil)

// NewPoolCollector returns a collector of longlink_connections{state} and
// longlink_pools{state} over the pools of the given managers (summed); pass
// pool.Default() for the process-wide one. Register it once per registry.
func NewPoolCollector(managers ...*pool.Manager) *PoolCollector {
	return &PoolCollector{
		managers: managers,
		conns: prom.NewDesc("longlink_connections",
			"Client connections by state (ready, draining), at scrape time.", []string{"state"}, nil),
		pools: prom.NewDesc("longlink_pools",
			"Connection pools (one per provider address and user group) by state, at scrape time.", []string{"state"}, nil),
	}
}

// connStates and poolStates are the states exported, each at zero if none.
var (
	connStates = []rpc.ConnState{rpc.StateReady, rpc.StateDraining}
	poolStates = []pool.State{pool.Idle, pool.Connecting, pool.Ready, pool.BackingOff, pool.Draining, pool.Closed}
)

// StateLabel is the label value of a pool or connection state: its String
// in snake case ("backing_off").
func StateLabel(s interface{ String() string }) string {
	return strings.ReplaceAll(s.String(), " ", "_")
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prom.Desc) {
	ch <- c.conns
	ch <- c.pools
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prom.Metric) {
	conns := make(map[rpc.ConnState]int, len(connStates))
	pools := make(map[pool.State]int, len(poolStates))
	for _, m := range c.managers {
		for _, ps := range m.Stats() {
			pools[ps.State]++
			for _, cs := range ps.Connections {
				conns[cs.State]++
			}
		}
	}
	for _, s := range connStates {
		ch <- prom.MustNewConstMetric(c.conns, prom.GaugeValue, float64(conns[s]), StateLabel(s))
	}
	for _, s := range poolStates {
		ch <- prom.MustNewConstMetric(c.pools, prom.GaugeValue, float64(pools[s]), StateLabel(s))
	}
}
