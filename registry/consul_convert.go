package registry

import (
	"maps"
	"strconv"

	"github.com/hashicorp/consul/api"
)

// reservedMeta are the service meta keys that carry Instance's typed fields.
// On Register they override same-named keys of Instance.Meta; on Watch they
// are parsed into the typed fields and removed from Instance.Meta.
var reservedMeta = []string{MetaWeight, MetaVersion, MetaGroup, MetaStartedAt}

// consulMeta returns the service meta for inst (normalized): its Meta plus
// the typed fields under the Meta* keys.
func consulMeta(inst Instance) map[string]string {
	meta := maps.Clone(inst.Meta)
	if meta == nil {
		meta = make(map[string]string, len(reservedMeta))
	}
	for _, k := range reservedMeta {
		delete(meta, k)
	}
	meta[MetaWeight] = strconv.Itoa(inst.Weight)
	if inst.Version != "" {
		meta[MetaVersion] = inst.Version
	}
	if inst.Group != "" {
		meta[MetaGroup] = inst.Group
	}
	if !inst.StartedAt.IsZero() {
		meta[MetaStartedAt] = strconv.FormatInt(inst.StartedAt.UnixMilli(), 10)
	}
	return meta
}

// instanceFromEntry converts one entry of a health query. The address is the
// service's, or its node's when the service has none (Consul's rule). A
// missing or malformed weight falls back to Consul's passing weight, then to
// DefaultWeight; a malformed start time reads as unknown.
func instanceFromEntry(e *api.ServiceEntry) Instance {
	s := e.Service
	inst := Instance{
		Service: s.Service,
		ID:      s.ID,
		Host:    s.Address,
		Port:    s.Port,
		Tags:    s.Tags,
		Version: s.Meta[MetaVersion],
		Group:   s.Meta[MetaGroup],
	}
	if inst.Host == "" && e.Node != nil {
		inst.Host = e.Node.Address
	}
	if w, err := strconv.Atoi(s.Meta[MetaWeight]); err == nil && w > 0 {
		inst.Weight = w
	} else if s.Weights.Passing > 0 {
		inst.Weight = s.Weights.Passing
	} else {
		inst.Weight = DefaultWeight
	}
	if ms, err := strconv.ParseInt(s.Meta[MetaStartedAt], 10, 64); err == nil {
		inst.StartedAt = startedAtFromMillis(ms)
	}
	if len(s.Meta) > 0 {
		meta := maps.Clone(s.Meta)
		for _, k := range reservedMeta {
			delete(meta, k)
		}
		if len(meta) > 0 {
			inst.Meta = meta
		}
	}
	return inst
}
