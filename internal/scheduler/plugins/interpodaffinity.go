package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"math"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// InterPodAffinityName is the InterPodAffinity plugin's name.
const InterPodAffinityName = "InterPodAffinity"

// The reasons InterPodAffinity rejects a node, in Kubernetes' words.
const (
	ReasonPodAffinityMismatch              = "node(s) didn't match pod affinity rules"
	ReasonPodAntiAffinityMismatch          = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingPodsAntiAffinityMismatch = "node(s) didn't satisfy existing pods anti-affinity rules"
)

// DefaultHardPodAffinityWeight is what an existing pod's required
// affinity term that selects the incoming pod adds to the score of the
// existing pod's topology domain, as in Kubernetes.
const DefaultHardPodAffinityWeight int32 = 1

const interPodAffinityStateKey framework.StateKey = InterPodAffinityName + "/state"

// InterPodAffinity places pods relative to other pods, with Kubernetes'
// semantics for spec.affinity.podAffinity and podAntiAffinity: a
// required affinity term needs a pod it selects in the node's topology
// domain (the nodes sharing the node's value of topologyKey), a required
// anti-affinity term needs none there, and an existing pod's required
// anti-affinity term that selects the incoming pod keeps it out of that
// pod's domain. Preferred terms, the incoming pod's and (symmetrically)
// the existing pods' that select it, weigh domains up or down; so do
// existing pods' required affinity terms, by HardPodAffinityWeight.
//
// A term's namespaceSelector of {} selects every namespace. Any other
// needs the namespaces' labels, which the plugin reads through
// NamespaceLabels; without it such a selector selects no namespace, and
// only the term's namespaces count.
//
// PreFilter does the work for every node at once, so that Filter and
// Score are a few map lookups per node. It reads every pod of the cluster
// only when the incoming pod has terms; otherwise it reads the pods that
// have terms, which it keeps indexed by NodeInfo from cycle to cycle.
// Use the plugin by pointer.
type InterPodAffinity struct {
	// HardPodAffinityWeight (0..100) weighs existing pods' required
	// affinity terms that select the incoming pod; nil means
	// DefaultHardPodAffinityWeight, 0 turns it off.
	HardPodAffinityWeight *int32
	// NamespaceLabels returns a namespace's labels, and false when it
	// does not know the namespace; nil means no labels are known.
	NamespaceLabels func(namespace string) (map[string]string, bool)

	index affinityIndex
}

var (
	_ framework.PreFilterPlugin = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin    = (*InterPodAffinity)(nil)
	_ framework.ScorePlugin     = (*InterPodAffinity)(nil)
	_ framework.ScoreNormalizer = (*InterPodAffinity)(nil)
)

// InterPodAffinityArgs is the plugin's configuration: the subset of
// Kubernetes' InterPodAffinityArgs Kennel knows.
type InterPodAffinityArgs struct {
	HardPodAffinityWeight *int32 `json:"hardPodAffinityWeight,omitempty"`
}

// NewInterPodAffinity builds the plugin from its JSON args (an
// InterPodAffinityArgs; empty means the defaults), rejecting unknown
// fields and values out of range.
func NewInterPodAffinity(args json.RawMessage) (*InterPodAffinity, error) {
	var a InterPodAffinityArgs
	if err := DecodeArgs(InterPodAffinityName, "InterPodAffinityArgs", args, &a); err != nil {
		return nil, err
	}
	if w := a.HardPodAffinityWeight; w != nil && (*w < 0 || *w > 100) {
		return nil, argsError(InterPodAffinityName, "hardPodAffinityWeight: must be in the range 0-100, got %d", *w)
	}
	return &InterPodAffinity{HardPodAffinityWeight: a.HardPodAffinityWeight}, nil
}

// Name is InterPodAffinityName.
func (*InterPodAffinity) Name() string { return InterPodAffinityName }

func (p *InterPodAffinity) hardWeight() int64 {
	if p.HardPodAffinityWeight == nil {
		return int64(DefaultHardPodAffinityWeight)
	}
	return int64(*p.HardPodAffinityWeight)
}

// affinityState is what PreFilter computes for Filter and Score. A nil
// *affinityState means that neither the pod nor any pod of the cluster has
// a pod affinity term: every node fits and scores the same.
type affinityState struct {
	// The incoming pod's terms.
	affinity, antiAffinity         []affinityTerm
	prefAffinity, prefAntiAffinity []affinityTerm
	// selfMatch: the pod is selected by all its own affinity terms.
	selfMatch bool
	// affinityCounts counts, per domain of each required affinity term's
	// key, the pods selected by all those terms; antiAffinityCounts the
	// pods selected by each required anti-affinity term;
	// existingAntiCounts the existing pods' required anti-affinity terms
	// that select the incoming pod, at the existing pods' domains.
	affinityCounts, antiAffinityCounts, existingAntiCounts map[topologyPair]int64
	// score sums the weights of the terms, per topology key and value.
	score map[string]map[string]int64
}

// PreFilter counts, per topology domain, the pods each of the pod's terms
// selects, and the existing pods' terms that select the pod.
func (p *InterPodAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod) *framework.Status {
	nodes := state.Nodes()
	s := newAffinityState(pod)
	own := s.hasTerms()
	nsl := &namespaceLabels{lookup: p.NamespaceLabels}
	hard := p.hardWeight()
	withTerms := p.index.visit(nodes, func(existing *v1.Pod, node *v1.Node) {
		s.addExistingTerms(existing, pod, node, nsl, hard)
	})
	if !own && withTerms == 0 {
		state.Write(interPodAffinityStateKey, (*affinityState)(nil))
		return nil
	}
	if own {
		for _, n := range nodes {
			if n.Node == nil || len(n.Node.Labels) == 0 {
				continue // no topology domain at all
			}
			for _, existing := range n.Pods {
				s.addExistingPod(existing, n.Node, nsl)
			}
		}
	}
	if len(s.affinity) > 0 {
		s.selfMatch = matchesAll(s.affinity, pod, nsl)
	}
	state.Write(interPodAffinityStateKey, s)
	return nil
}

func newAffinityState(pod *v1.Pod) *affinityState {
	s := &affinityState{
		affinityCounts:     map[topologyPair]int64{},
		antiAffinityCounts: map[topologyPair]int64{},
		existingAntiCounts: map[topologyPair]int64{},
		score:              map[string]map[string]int64{},
	}
	a := pod.Spec.Affinity
	if a == nil {
		return s
	}
	if pa := a.PodAffinity; pa != nil {
		s.affinity = requiredTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pod.Namespace)
		s.prefAffinity = preferredTerms(pa.PreferredDuringSchedulingIgnoredDuringExecution, pod.Namespace)
	}
	if pa := a.PodAntiAffinity; pa != nil {
		s.antiAffinity = requiredTerms(pa.RequiredDuringSchedulingIgnoredDuringExecution, pod.Namespace)
		s.prefAntiAffinity = preferredTerms(pa.PreferredDuringSchedulingIgnoredDuringExecution, pod.Namespace)
	}
	return s
}

func (s *affinityState) hasTerms() bool {
	return len(s.affinity)+len(s.antiAffinity)+len(s.prefAffinity)+len(s.prefAntiAffinity) > 0
}

// addExistingPod counts existing, on node, against the incoming pod's
// terms.
func (s *affinityState) addExistingPod(existing *v1.Pod, node *v1.Node, nsl *namespaceLabels) {
	if len(s.affinity) > 0 && matchesAll(s.affinity, existing, nsl) {
		for i := range s.affinity {
			addPair(s.affinityCounts, node, s.affinity[i].topologyKey)
		}
	}
	for i := range s.antiAffinity {
		if s.antiAffinity[i].matches(existing, nsl) {
			addPair(s.antiAffinityCounts, node, s.antiAffinity[i].topologyKey)
		}
	}
	s.addScores(s.prefAffinity, existing, node, nsl, 1)
	s.addScores(s.prefAntiAffinity, existing, node, nsl, -1)
}

// addExistingTerms applies existing's terms, on node, to the incoming
// pod: its required anti-affinity keeps the pod out of its domain, its
// required affinity (by hard) and preferred terms weigh its domain. The
// terms are readied on the stack: a cluster of pets with anti-affinity
// has one such pod per pet, read every cycle.
func (s *affinityState) addExistingTerms(existing, pod *v1.Pod, node *v1.Node, nsl *namespaceLabels, hard int64) {
	a, ns := existing.Spec.Affinity, existing.Namespace
	if pa := a.PodAntiAffinity; pa != nil {
		for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
			t := newAffinityTerm(&pa.RequiredDuringSchedulingIgnoredDuringExecution[i], ns, 1)
			if t.matches(pod, nsl) {
				addPair(s.existingAntiCounts, node, t.topologyKey)
			}
		}
		for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			w := &pa.PreferredDuringSchedulingIgnoredDuringExecution[i]
			t := newAffinityTerm(&w.PodAffinityTerm, ns, w.Weight)
			s.addScore(&t, pod, node, nsl, -1)
		}
	}
	if pa := a.PodAffinity; pa != nil {
		for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
			if hard > 0 {
				t := newAffinityTerm(&pa.RequiredDuringSchedulingIgnoredDuringExecution[i], ns, int32(hard))
				s.addScore(&t, pod, node, nsl, 1)
			}
		}
		for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			w := &pa.PreferredDuringSchedulingIgnoredDuringExecution[i]
			t := newAffinityTerm(&w.PodAffinityTerm, ns, w.Weight)
			s.addScore(&t, pod, node, nsl, 1)
		}
	}
}

// addScores adds sign × weight to node's domain for each of terms that
// selects target; addScore does it for one term.
func (s *affinityState) addScores(terms []affinityTerm, target *v1.Pod, node *v1.Node, nsl *namespaceLabels, sign int64) {
	for i := range terms {
		s.addScore(&terms[i], target, node, nsl, sign)
	}
}

func (s *affinityState) addScore(t *affinityTerm, target *v1.Pod, node *v1.Node, nsl *namespaceLabels, sign int64) {
	value, ok := node.Labels[t.topologyKey]
	if !ok || !t.matches(target, nsl) {
		return
	}
	byValue := s.score[t.topologyKey]
	if byValue == nil {
		byValue = map[string]int64{}
		s.score[t.topologyKey] = byValue
	}
	byValue[value] += sign * t.weight
}

func addPair(counts map[topologyPair]int64, node *v1.Node, key string) {
	if value, ok := node.Labels[key]; ok {
		counts[topologyPair{key, value}]++
	}
}

func matchesAll(terms []affinityTerm, pod *v1.Pod, nsl *namespaceLabels) bool {
	for i := range terms {
		if !terms[i].matches(pod, nsl) {
			return false
		}
	}
	return true
}

func (p *InterPodAffinity) readState(state *framework.CycleState) (*affinityState, *framework.Status) {
	s, ok := framework.ReadAs[*affinityState](state, interPodAffinityStateKey)
	if !ok {
		return nil, framework.AsStatus(errors.New("scheduler: InterPodAffinity: PreFilter did not run"))
	}
	return s, nil
}

// Filter checks the pod's required affinity, its required anti-affinity
// and the existing pods' required anti-affinity, in that order.
func (p *InterPodAffinity) Filter(_ context.Context, state *framework.CycleState, _ *v1.Pod, n *framework.NodeInfo) *framework.Status {
	s, st := p.readState(state)
	if s == nil {
		return st
	}
	var labels map[string]string
	if n.Node != nil {
		labels = n.Node.Labels
	}
	switch {
	case !s.satisfiesAffinity(labels):
		return framework.NewStatus(framework.Unschedulable, ReasonPodAffinityMismatch)
	case !s.satisfiesAntiAffinity(labels):
		return framework.NewStatus(framework.Unschedulable, ReasonPodAntiAffinityMismatch)
	case !s.satisfiesExistingAntiAffinity(labels):
		return framework.NewStatus(framework.Unschedulable, ReasonExistingPodsAntiAffinityMismatch)
	}
	return nil
}

// satisfiesAffinity: the node has every term's key, and every term's
// domain holds a pod selected by all the terms — or no pod in the cluster
// is, and the pod selects itself: the first pod of a group that wants to
// be together.
func (s *affinityState) satisfiesAffinity(labels map[string]string) bool {
	exist := true
	for i := range s.affinity {
		key := s.affinity[i].topologyKey
		value, ok := labels[key]
		if !ok {
			return false
		}
		if s.affinityCounts[topologyPair{key, value}] <= 0 {
			exist = false
		}
	}
	return exist || (len(s.affinityCounts) == 0 && s.selfMatch)
}

func (s *affinityState) satisfiesAntiAffinity(labels map[string]string) bool {
	if len(s.antiAffinityCounts) == 0 {
		return true
	}
	for i := range s.antiAffinity {
		key := s.antiAffinity[i].topologyKey
		if value, ok := labels[key]; ok && s.antiAffinityCounts[topologyPair{key, value}] > 0 {
			return false
		}
	}
	return true
}

func (s *affinityState) satisfiesExistingAntiAffinity(labels map[string]string) bool {
	if len(s.existingAntiCounts) == 0 {
		return true
	}
	for key, value := range labels {
		if s.existingAntiCounts[topologyPair{key, value}] > 0 {
			return false
		}
	}
	return true
}

// Score sums the weights PreFilter gave the node's domains; it may be
// negative, and NormalizeScore scales it.
func (p *InterPodAffinity) Score(_ context.Context, state *framework.CycleState, _ *v1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	s, st := p.readState(state)
	if s == nil || n.Node == nil {
		return 0, st
	}
	var sum int64
	for key, byValue := range s.score {
		if value, ok := n.Label(key); ok {
			sum += byValue[value]
		}
	}
	return sum, nil
}

// NormalizeScore maps the lowest sum to MinNodeScore and the highest to
// MaxNodeScore, linearly, as Kubernetes does; equal sums all score
// MinNodeScore.
func (*InterPodAffinity) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores []framework.NodeScore) *framework.Status {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, s := range scores {
		lo, hi = min(lo, s.Score), max(hi, s.Score)
	}
	for i := range scores {
		v := framework.MinNodeScore
		if hi > lo {
			v = (scores[i].Score - lo) * framework.MaxNodeScore / (hi - lo)
		}
		scores[i].Score = v
	}
	return nil
}
