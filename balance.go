package longlink

import (
	"context"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"time"
)

type hashKey struct{}

// WithHashKey returns a context whose calls carry key for the
// ConsistentHash balancer: calls with the same key go to the same provider
// while the set of providers stays the same.
func WithHashKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, hashKey{}, key)
}

// pick chooses the provider for one attempt, or returns nil if there is
// none left to try.
func (c *Client) pick(ctx context.Context, set *endpointSet, tried []*endpoint) *endpoint {
	if ep := c.stuck(tried); ep != nil {
		return ep
	}
	var buf [16]*endpoint
	cands := candidates(set.eps, tried, buf[:0])
	switch len(cands) {
	case 0:
		return nil
	case 1:
		return cands[0]
	}
	switch c.opts.Balancer {
	case RoundRobin:
		return c.roundRobin(cands)
	case LeastActive:
		return c.leastActive(cands)
	case ConsistentHash:
		if key, ok := ctx.Value(hashKey{}).(string); ok {
			return set.hashRing().pick(key, cands)
		}
	}
	return c.weightedRandom(cands)
}

// candidates returns, in order of preference: the usable providers not yet
// tried; else the untried ones in any state (a provider that is connecting or
// backing off still gets its chance when it is all there is, and then says
// why it cannot serve); else the usable ones already tried (a connection
// that was lost and redialled since). The common case returns eps itself.
func candidates(eps, tried []*endpoint, buf []*endpoint) []*endpoint {
	if len(tried) == 0 {
		all := true
		for _, ep := range eps {
			if !ep.usable() {
				all = false
				break
			}
		}
		if all {
			return eps
		}
	}
	out := buf
	for _, ep := range eps {
		if ep.usable() && !slices.Contains(tried, ep) {
			out = append(out, ep)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, ep := range eps {
		if !ep.removed.Load() && !slices.Contains(tried, ep) {
			out = append(out, ep)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, ep := range eps {
		if ep.usable() {
			out = append(out, ep)
		}
	}
	return out
}

// weights returns the providers' current weights and whether they are all
// equal.
func (c *Client) weights(cands []*endpoint, buf []int) ([]int, bool) {
	now := time.Now()
	ws, same := buf[:0], true
	for i, ep := range cands {
		w := ep.weight(c.opts.Warmup, now)
		ws = append(ws, w)
		same = same && (i == 0 || w == ws[0])
	}
	return ws, same
}

func (c *Client) weightedRandom(cands []*endpoint) *endpoint {
	var buf [16]int
	ws, same := c.weights(cands, buf[:])
	if same {
		return cands[rand.IntN(len(cands))]
	}
	return pickWeighted(cands, ws)
}

func pickWeighted(cands []*endpoint, ws []int) *endpoint {
	total := 0
	for _, w := range ws {
		total += w
	}
	r := rand.IntN(total)
	for i, w := range ws {
		if r < w {
			return cands[i]
		}
		r -= w
	}
	return cands[len(cands)-1]
}

// roundRobin is smooth weighted round robin: each pick adds every
// provider's weight to its score, takes the highest, and subtracts the
// total from the winner's score.
func (c *Client) roundRobin(cands []*endpoint) *endpoint {
	var buf [16]int
	ws, same := c.weights(cands, buf[:])
	if same {
		return cands[c.rrNext.Add(1)%uint64(len(cands))]
	}
	c.rrMu.Lock()
	defer c.rrMu.Unlock()
	total, best := 0, 0
	for i, ep := range cands {
		ep.rrCurrent += ws[i]
		total += ws[i]
		if ep.rrCurrent > cands[best].rrCurrent {
			best = i
		}
	}
	cands[best].rrCurrent -= total
	return cands[best]
}

// leastActive picks among the providers with the fewest calls in flight,
// weighted random among ties.
func (c *Client) leastActive(cands []*endpoint) *endpoint {
	var buf [16]*endpoint
	least, ties := int64(-1), buf[:0]
	for _, ep := range cands {
		switch n := ep.inflight.Load(); {
		case least < 0 || n < least:
			least, ties = n, append(ties[:0], ep)
		case n == least:
			ties = append(ties, ep)
		}
	}
	if len(ties) == 1 {
		return ties[0]
	}
	return c.weightedRandom(ties)
}

// hashRing is a consistent-hash ring of 160 points per provider.
type hashRing struct {
	points []uint64 // sorted
	owners []*endpoint
}

const ringPointsPerProvider = 160

func (s *endpointSet) hashRing() *hashRing {
	if r := s.ring.Load(); r != nil {
		return r
	}
	type point struct {
		h  uint64
		ep *endpoint
	}
	pts := make([]point, 0, len(s.eps)*ringPointsPerProvider)
	for _, ep := range s.eps {
		for i := range ringPointsPerProvider {
			pts = append(pts, point{hash64(ep.addr + "#" + strconv.Itoa(i)), ep})
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return 0
	})
	r := &hashRing{points: make([]uint64, len(pts)), owners: make([]*endpoint, len(pts))}
	for i, p := range pts {
		r.points[i], r.owners[i] = p.h, p.ep
	}
	s.ring.CompareAndSwap(nil, r)
	return s.ring.Load()
}

// pick returns the first provider clockwise from key that is a candidate.
func (r *hashRing) pick(key string, cands []*endpoint) *endpoint {
	h := hash64(key)
	i := sort.Search(len(r.points), func(i int) bool { return r.points[i] >= h })
	for j := range r.points {
		if ep := r.owners[(i+j)%len(r.points)]; slices.Contains(cands, ep) {
			return ep
		}
	}
	return cands[0]
}

// hash64 is FNV-1a followed by a 64-bit finaliser, for an even spread.
func hash64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
