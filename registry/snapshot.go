package registry

import (
	"cmp"
	"slices"
)

// A snapshot is the full set of healthy instances of one service. Inside the
// package snapshots are kept sorted (by ID, then address) and never mutated
// once published, so they can be compared with equalSnapshots and shared.

// newSnapshot returns a sorted deep copy of insts.
func newSnapshot(insts []Instance) []Instance {
	out := make([]Instance, len(insts))
	for k, inst := range insts {
		out[k] = inst.clone()
	}
	slices.SortFunc(out, compareInstances)
	return out
}

func compareInstances(a, b Instance) int {
	return cmp.Or(
		cmp.Compare(a.ID, b.ID),
		cmp.Compare(a.Host, b.Host),
		cmp.Compare(a.Port, b.Port),
	)
}

// equalSnapshots reports whether two sorted snapshots hold the same
// instances. Because both are sorted, the comparison is independent of the
// order in which the registry listed the instances.
func equalSnapshots(a, b []Instance) bool {
	return slices.EqualFunc(a, b, Instance.equal)
}

// cloneSnapshot returns a deep copy that a caller may modify freely.
func cloneSnapshot(s []Instance) []Instance {
	out := make([]Instance, len(s))
	for k, inst := range s {
		out[k] = inst.clone()
	}
	return out
}
