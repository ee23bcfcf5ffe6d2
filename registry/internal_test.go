package registry

import (
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

func TestBackoffDelay(t *testing.T) {
	base, max := 100*time.Millisecond, time.Second
	tests := []struct {
		failures int
		nominal  time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{60, time.Second}, // capped, no overflow
	}
	for _, tc := range tests {
		for range 200 {
			d := backoffDelay(base, max, tc.failures)
			if d < tc.nominal/2 || d > tc.nominal {
				t.Fatalf("failures %d: delay %v outside [%v, %v]", tc.failures, d, tc.nominal/2, tc.nominal)
			}
		}
	}
}

func TestNextIndex(t *testing.T) {
	tests := []struct {
		name            string
		prev, got, want uint64
	}{
		{"first answer", 0, 42, 42},
		{"moved forward", 42, 50, 50},
		{"unchanged (timeout)", 42, 42, 42},
		{"went backwards: read afresh", 42, 7, 0},
		{"zero: never block on 0", 0, 0, 1},
	}
	for _, tc := range tests {
		if got := nextIndex(tc.prev, tc.got); got != tc.want {
			t.Errorf("%s: nextIndex(%d, %d) = %d, want %d", tc.name, tc.prev, tc.got, got, tc.want)
		}
	}
}

func TestSnapshotsCompareByContent(t *testing.T) {
	a := Instance{Service: "s", ID: "a", Host: "h", Port: 1, Tags: []string{"x"}, Meta: map[string]string{"k": "v"}, Weight: 100}
	b := Instance{Service: "s", ID: "b", Host: "h", Port: 2, Weight: 100}
	changed := func(f func(*Instance)) []Instance {
		c := a.clone()
		f(&c)
		return newSnapshot([]Instance{c, b})
	}
	base := newSnapshot([]Instance{a, b})
	tests := []struct {
		name  string
		other []Instance
		equal bool
	}{
		{"same order", newSnapshot([]Instance{a, b}), true},
		{"other order", newSnapshot([]Instance{b, a}), true},
		{"nil and empty meta/tags alike", newSnapshot([]Instance{a, {Service: "s", ID: "b", Host: "h", Port: 2, Weight: 100, Tags: []string{}, Meta: map[string]string{}}}), true},
		{"started at", changed(func(i *Instance) { i.StartedAt = time.UnixMilli(0).In(time.FixedZone("x", 3600)) }), false},
		{"one missing", newSnapshot([]Instance{a}), false},
		{"port", changed(func(i *Instance) { i.Port = 9 }), false},
		{"tag", changed(func(i *Instance) { i.Tags = []string{"y"} }), false},
		{"meta", changed(func(i *Instance) { i.Meta = map[string]string{"k": "w"} }), false},
		{"weight", changed(func(i *Instance) { i.Weight = 1 }), false},
		{"version", changed(func(i *Instance) { i.Version = "2" }), false},
		{"group", changed(func(i *Instance) { i.Group = "g" }), false},
	}
	for _, tc := range tests {
		if got := equalSnapshots(base, tc.other); got != tc.equal {
			t.Errorf("%s: equal = %v, want %v", tc.name, got, tc.equal)
		}
	}
	zeroLoc := changed(func(i *Instance) { i.StartedAt = time.UnixMilli(5) })
	otherLoc := changed(func(i *Instance) { i.StartedAt = time.UnixMilli(5).In(time.FixedZone("x", 3600)) })
	if !equalSnapshots(zeroLoc, otherLoc) {
		t.Error("the same instant in two locations compares unequal")
	}
}

func TestNormalize(t *testing.T) {
	got, err := Instance{Service: "s", Host: "::1", Port: 80}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "s-[::1]:80" || got.Weight != DefaultWeight {
		t.Fatalf("defaults: %+v", got)
	}
	in := Instance{Service: "s", ID: "x", Host: "h", Port: 1, Weight: 7, Tags: []string{"t"}, Meta: map[string]string{"k": "v"}}
	got, err = in.normalize()
	if err != nil {
		t.Fatal(err)
	}
	got.Tags[0], got.Meta["k"] = "changed", "changed"
	if in.Tags[0] != "t" || in.Meta["k"] != "v" || got.ID != "x" || got.Weight != 7 {
		t.Fatalf("normalize shares or overrides: in %+v, got %+v", in, got)
	}
}

func TestInstanceFromEntry(t *testing.T) {
	entry := func(addr string, meta map[string]string, passing int) *api.ServiceEntry {
		return &api.ServiceEntry{
			Node:    &api.Node{Address: "10.0.0.9"},
			Service: &api.AgentService{ID: "i", Service: "s", Address: addr, Port: 80, Meta: meta, Weights: api.AgentWeights{Passing: passing}},
		}
	}
	tests := []struct {
		name string
		e    *api.ServiceEntry
		want Instance
	}{
		{"all meta", entry("10.0.0.1", map[string]string{MetaWeight: "7", MetaVersion: "1", MetaGroup: "g", MetaStartedAt: "1700000000000", "zone": "z"}, 1),
			Instance{Service: "s", ID: "i", Host: "10.0.0.1", Port: 80, Weight: 7, Version: "1", Group: "g", StartedAt: time.UnixMilli(1_700_000_000_000), Meta: map[string]string{"zone": "z"}}},
		{"node address, Consul weight", entry("", nil, 3),
			Instance{Service: "s", ID: "i", Host: "10.0.0.9", Port: 80, Weight: 3}},
		{"malformed meta", entry("h", map[string]string{MetaWeight: "-2", MetaStartedAt: "soon"}, 0),
			Instance{Service: "s", ID: "i", Host: "h", Port: 80, Weight: DefaultWeight}},
	}
	for _, tc := range tests {
		if got := instanceFromEntry(tc.e); !got.equal(tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

func TestConsulMetaRoundTrip(t *testing.T) {
	in, _ := Instance{Service: "s", ID: "i", Host: "h", Port: 1, Version: "v", Group: "g",
		StartedAt: time.UnixMilli(123), Meta: map[string]string{"k": "v", MetaGroup: "overridden"}}.normalize()
	meta := consulMeta(in)
	out := instanceFromEntry(&api.ServiceEntry{Service: &api.AgentService{ID: "i", Service: "s", Address: "h", Port: 1, Meta: meta}})
	in.Meta = map[string]string{"k": "v"} // reserved keys belong to the typed fields
	if !out.equal(in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}
}
