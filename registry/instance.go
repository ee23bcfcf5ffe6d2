package registry

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// normalize validates inst and returns a deep copy with defaults filled in:
// ID "<Service>-<host:port>", Weight DefaultWeight. It fails with
// ErrInvalidInstance for a missing service name or host, a port outside
// 1..65535 or a negative weight.
func (i Instance) normalize() (Instance, error) {
	switch {
	case strings.TrimSpace(i.Service) == "":
		return Instance{}, fmt.Errorf("%w: empty service name", ErrInvalidInstance)
	case strings.TrimSpace(i.Host) == "":
		return Instance{}, fmt.Errorf("%w: service %q: empty host", ErrInvalidInstance, i.Service)
	case i.Port < 1 || i.Port > 65535:
		return Instance{}, fmt.Errorf("%w: service %q: port %d outside 1..65535", ErrInvalidInstance, i.Service, i.Port)
	case i.Weight < 0:
		return Instance{}, fmt.Errorf("%w: service %q: negative weight %d", ErrInvalidInstance, i.Service, i.Weight)
	}
	out := i.clone()
	if out.ID == "" {
		out.ID = out.Service + "-" + out.Addr()
	}
	if out.Weight == 0 {
		out.Weight = DefaultWeight
	}
	return out, nil
}

// clone returns a copy of i that shares no slice or map with it.
func (i Instance) clone() Instance {
	i.Tags = slices.Clone(i.Tags)
	i.Meta = maps.Clone(i.Meta)
	return i
}

// equal reports whether a and b carry the same content. Nil and empty tags or
// meta are equal; tags compare in order; times compare as instants.
func (i Instance) equal(o Instance) bool {
	return i.Service == o.Service &&
		i.ID == o.ID &&
		i.Host == o.Host &&
		i.Port == o.Port &&
		slices.Equal(i.Tags, o.Tags) &&
		maps.Equal(i.Meta, o.Meta) &&
		i.Weight == o.Weight &&
		i.Version == o.Version &&
		i.Group == o.Group &&
		i.StartedAt.Equal(o.StartedAt)
}

// startedAtFromMillis is the inverse of StartedAt.UnixMilli, zero for 0.
func startedAtFromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
