package controller

// gateState is one cluster's share of a divided PetSet, for gating.
type gateState struct {
	cluster string
	// target is the cluster's assigned count; position the first
	// ordinal of its range (for a cluster left with none, where its
	// range was).
	target, position int32
	// delivered is spec.replicas of its Work now (-1: no Work yet).
	delivered int32
	// reported is what the member says of its PetSet.
	reported replicaStatus
	// failed: the cluster has failed and its pets were given to others;
	// they are fenced there, whatever it last reported.
	failed bool
}

// gate says how many replicas each cluster is given now. Without
// ordering every cluster gets its target at once. With OrderedReady,
// ordering holds across clusters as it does within one: a cluster grows
// only once every cluster of lower ordinals runs its target, all Ready;
// a cluster shrinks only once every cluster of higher ordinals is down
// to its target. Until then it keeps what it was given.
func gate(states []gateState, ordered bool) []int32 {
	out := make([]int32, len(states))
	for i, s := range states {
		out[i] = max(s.delivered, 0)
		if !ordered || s.failed {
			out[i] = s.target
		}
	}
	if !ordered {
		return out
	}
	below := func(i int) []int {
		var idx []int
		for j, s := range states {
			if s.position < states[i].position {
				idx = append(idx, j)
			}
		}
		return idx
	}
	above := func(i int) []int {
		var idx []int
		for j, s := range states {
			if s.position > states[i].position {
				idx = append(idx, j)
			}
		}
		return idx
	}
	settled := func(j int) bool { // at target, as reported
		r := states[j].reported
		if states[j].failed {
			return true
		}
		if out[j] != states[j].target {
			return false
		}
		return states[j].target == 0 && states[j].delivered < 0 || r.Current && r.Replicas == states[j].target
	}
	// Shrinks first, from the top: each waits on the clusters above it.
	for i, s := range states {
		if s.target < out[i] && all(above(i), settled) {
			out[i] = s.target
		}
	}
	// Then growth, from the bottom: each waits on the clusters below.
	for i, s := range states {
		if s.target > out[i] && all(below(i), func(j int) bool { return settled(j) && states[j].reported.Ready >= states[j].target }) {
			out[i] = s.target
		}
	}
	return out
}

func all(idx []int, f func(int) bool) bool {
	for _, j := range idx {
		if !f(j) {
			return false
		}
	}
	return true
}
