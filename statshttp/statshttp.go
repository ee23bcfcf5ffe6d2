package statshttp

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/longlink/longlink"
	"github.com/longlink/longlink/pool"
	"github.com/longlink/longlink/registry"
	"github.com/longlink/longlink/rpc"
)

// Options say what a Handler serves. The zero value serves an empty
// document.
type Options struct {
	// Clients are served under "clients", in this order. Default none. A
	// closed client is served with the providers it last had (none).
	Clients []*longlink.Client
	// Managers' pools are served under "pools", sorted by address. Default
	// none; pass pool.Default() for the process-wide Manager.
	Managers []*pool.Manager
}

// Handler serves the snapshots of the package documentation. It is safe for
// concurrent use.
type Handler struct {
	opts Options
}

// New returns a Handler for the clients and managers of opts.
func New(opts Options) *Handler {
	opts.Clients = slices.Clone(opts.Clients)
	opts.Managers = slices.Clone(opts.Managers)
	return &Handler{opts: opts}
}

// Snapshot is the document the Handler serves.
type Snapshot struct {
	Time    time.Time `json:"time"`
	Clients []Client  `json:"clients"`
	Pools   []Pool    `json:"pools"`
}

// Client is a longlink.ClientStats.
type Client struct {
	Service   string     `json:"service"`
	Sticky    string     `json:"sticky"`
	Providers []Provider `json:"providers"`
}

// Provider is a longlink.ProviderStats.
type Provider struct {
	Addr     string   `json:"addr"`
	State    string   `json:"state"`
	Weight   int      `json:"weight"`
	InFlight int64    `json:"in_flight"`
	Calls    uint64   `json:"calls"`
	Failures uint64   `json:"failures"`
	Instance Instance `json:"instance"`
	Pool     Pool     `json:"pool"`
}

// Instance is a registry.Instance as the provider registered it.
type Instance struct {
	ID        string            `json:"id"`
	Version   string            `json:"version"`
	Group     string            `json:"group"`
	Weight    int               `json:"weight"`
	Tags      []string          `json:"tags"`
	Meta      map[string]string `json:"meta"`
	StartedAt *time.Time        `json:"started_at"`
}

// Pool is a pool.Stats.
type Pool struct {
	Addr         string  `json:"addr"`
	State        string  `json:"state"`
	Size         int     `json:"size"`
	Dialling     int     `json:"dialling"`
	Dials        uint64  `json:"dials"`
	DialFailures uint64  `json:"dial_failures"`
	Redials      uint64  `json:"redials"`
	Evictions    uint64  `json:"evictions"`
	LastError    string  `json:"last_error"`
	RetryInMs    float64 `json:"retry_in_ms"`
	Connections  []Conn  `json:"connections"`
}

// Conn is an rpc.ConnStats.
type Conn struct {
	Addr               string  `json:"addr"`
	State              string  `json:"state"`
	InFlight           int     `json:"in_flight"`
	Calls              uint64  `json:"calls"`
	Failures           uint64  `json:"failures"`
	Pings              uint64  `json:"pings"`
	LastHeartbeatRTTMs float64 `json:"last_heartbeat_rtt_ms"`
	Error              string  `json:"error"`
}

// Snapshot takes the snapshots now.
func (h *Handler) Snapshot() Snapshot {
	s := Snapshot{Time: time.Now(), Clients: []Client{}, Pools: []Pool{}}
	for _, c := range h.opts.Clients {
		s.Clients = append(s.Clients, FromClient(c.Stats()))
	}
	for _, m := range h.opts.Managers {
		for _, ps := range m.Stats() {
			s.Pools = append(s.Pools, FromPool(ps))
		}
	}
	slices.SortStableFunc(s.Pools, func(a, b Pool) int { return cmp.Compare(a.Addr, b.Addr) })
	return s
}

// ServeHTTP answers GET and HEAD with the Snapshot as JSON.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := json.MarshalIndent(h.Snapshot(), "", "  ")
	if err != nil { // not with these types; kept for safety
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(append(body, '\n'))
	}
}

// FromClient converts a client's snapshot to its JSON form.
func FromClient(st longlink.ClientStats) Client {
	c := Client{Service: st.Service, Sticky: st.Sticky, Providers: []Provider{}}
	for _, p := range st.Providers {
		c.Providers = append(c.Providers, Provider{
			Addr:     p.Addr,
			State:    State(p.State),
			Weight:   p.Weight,
			InFlight: p.InFlight,
			Calls:    p.Calls,
			Failures: p.Failures,
			Instance: fromInstance(p.Instance),
			Pool:     FromPool(p.Pool),
		})
	}
	return c
}

func fromInstance(i registry.Instance) Instance {
	out := Instance{ID: i.ID, Version: i.Version, Group: i.Group, Weight: i.Weight, Tags: i.Tags, Meta: i.Meta}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if out.Meta == nil {
		out.Meta = map[string]string{}
	}
	if !i.StartedAt.IsZero() {
		t := i.StartedAt
		out.StartedAt = &t
	}
	return out
}

// FromPool converts a pool's snapshot to its JSON form.
func FromPool(st pool.Stats) Pool {
	p := Pool{
		Addr:         st.Addr,
		State:        State(st.State),
		Size:         st.Size,
		Dialling:     st.Dialling,
		Dials:        st.Dials,
		DialFailures: st.DialFailures,
		Redials:      st.Redials,
		Evictions:    st.Evictions,
		LastError:    errString(st.LastError),
		RetryInMs:    ms(st.RetryIn),
		Connections:  []Conn{},
	}
	for _, c := range st.Connections {
		p.Connections = append(p.Connections, fromConn(c))
	}
	return p
}

func fromConn(c rpc.ConnStats) Conn {
	return Conn{
		Addr:               c.Addr,
		State:              State(c.State),
		InFlight:           c.InFlight,
		Calls:              c.Calls,
		Failures:           c.Failures,
		Pings:              c.Pings,
		LastHeartbeatRTTMs: ms(c.LastHeartbeatRTT),
		Error:              errString(c.Err),
	}
}

// State is the JSON form of a pool.State or rpc.ConnState: its String in
// snake case, e.g. "backing_off".
func State(s interface{ String() string }) string {
	return strings.ReplaceAll(s.String(), " ", "_")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
