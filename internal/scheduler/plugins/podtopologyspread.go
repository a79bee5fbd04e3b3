package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/validation"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// PodTopologySpreadName is the PodTopologySpread plugin's name.
const PodTopologySpreadName = "PodTopologySpread"

// The reasons PodTopologySpread rejects a node, in Kubernetes' words.
const (
	ReasonTopologySpreadMismatch     = "node(s) didn't match pod topology spread constraints"
	ReasonTopologySpreadMissingLabel = ReasonTopologySpreadMismatch + " (missing required label)"
)

// SpreadDefaulting says which constraints apply to a pod that has none of
// its own.
type SpreadDefaulting string

// The kinds of defaulting, as Kubernetes' defaultingType.
const (
	// SystemDefaulting spreads the pets of a PetSet (or StatefulSet):
	// first over nodes, then over zones, counting the pets of the same
	// set (see PodTopologySpread).
	SystemDefaulting SpreadDefaulting = "System"
	// ListDefaulting applies PodTopologySpread.DefaultConstraints to
	// every pod that has a controller, counting that controller's pods.
	ListDefaulting SpreadDefaulting = "List"
)

const podTopologySpreadStateKey framework.StateKey = PodTopologySpreadName + "/state"

// PodTopologySpread spreads pods over topology domains (the values of a
// node label), with Kubernetes' semantics for
// spec.topologySpreadConstraints. Pods are counted in each domain over
// the nodes the pod's nodeSelector and required node affinity select and
// that have the constraint's label (all constraints' labels, for
// DoNotSchedule, and for ScheduleAnyway unless defaulted by the system).
// A DoNotSchedule constraint rejects a node when placing the pod there
// would leave its domain more than maxSkew pods above the emptiest domain
// (counted as empty while there are fewer than minDomains domains). A
// ScheduleAnyway constraint prefers the domains with fewer pods, weighted
// as in Kubernetes by the log of the number of domains, so that a
// constraint with many domains (nodes) outweighs one with few (zones).
//
// A pod without constraints of its own gets defaults, counting the pods
// of its controller with NodeInfo.ByOwner instead of matching labels. By
// default (SystemDefaulting) a PetSet's pet is spread ScheduleAnyway with
// maxSkew 1 over kubernetes.io/hostname and topology.kubernetes.io/zone,
// the node weighing more than every zone difference: a pet goes to a node
// without a sibling first, then to the zone with fewest siblings.
//
// Kennel counts domains over every node the pod may go to, where
// Kubernetes' scoring counts them over the nodes that passed the filters:
// the plugin has no hook between filtering and scoring. Defaults count a
// controller's pods from an index kept from cycle to cycle (see
// ownerIndex), when the pod may go to every node; otherwise PreFilter
// reads every node. Use the plugin by pointer.
type PodTopologySpread struct {
	// Defaulting chooses the defaults; "" means SystemDefaulting.
	Defaulting SpreadDefaulting
	// DefaultConstraints apply with ListDefaulting; their labelSelector
	// is unset (the controller's pods are counted).
	DefaultConstraints []v1.TopologySpreadConstraint
	// DisableDefaultPetSpreading turns SystemDefaulting's spreading of
	// pets off.
	DisableDefaultPetSpreading bool

	mu      sync.Mutex
	indexes map[indexKey]*ownerIndex
}

// indexKey names an owner index: its topology key, and whether it counts
// nodes only (a hostname constraint that scores counts pods on the node
// itself, in Score).
type indexKey struct {
	topologyKey string
}

var (
	_ framework.PreFilterPlugin = (*PodTopologySpread)(nil)
	_ framework.FilterPlugin    = (*PodTopologySpread)(nil)
	_ framework.ScorePlugin     = (*PodTopologySpread)(nil)
	_ framework.ScoreNormalizer = (*PodTopologySpread)(nil)
)

// PodTopologySpreadArgs is the plugin's configuration: the subset of
// Kubernetes' PodTopologySpreadArgs Kennel knows.
type PodTopologySpreadArgs struct {
	DefaultingType     SpreadDefaulting              `json:"defaultingType,omitempty"`
	DefaultConstraints []v1.TopologySpreadConstraint `json:"defaultConstraints,omitempty"`
}

// NewPodTopologySpread builds the plugin from its JSON args (a
// PodTopologySpreadArgs; empty means SystemDefaulting), rejecting unknown
// fields and invalid values. As in Kubernetes, defaultingType defaults to
// List when defaultConstraints are given, and List with none turns
// defaults off.
func NewPodTopologySpread(args json.RawMessage) (*PodTopologySpread, error) {
	var a PodTopologySpreadArgs
	if err := DecodeArgs(PodTopologySpreadName, "PodTopologySpreadArgs", args, &a); err != nil {
		return nil, err
	}
	if a.DefaultingType == "" {
		a.DefaultingType = SystemDefaulting
		if len(a.DefaultConstraints) > 0 {
			a.DefaultingType = ListDefaulting
		}
	}
	if problems := validateSpreadArgs(&a); len(problems) > 0 {
		return nil, argsError(PodTopologySpreadName, "%s", strings.Join(problems, "; "))
	}
	return &PodTopologySpread{Defaulting: a.DefaultingType, DefaultConstraints: a.DefaultConstraints}, nil
}

func validateSpreadArgs(a *PodTopologySpreadArgs) []string {
	var problems []string
	switch {
	case a.DefaultingType != SystemDefaulting && a.DefaultingType != ListDefaulting:
		problems = append(problems, fmt.Sprintf("defaultingType: must be %s or %s, got %q", SystemDefaulting, ListDefaulting, a.DefaultingType))
	case a.DefaultingType == SystemDefaulting && len(a.DefaultConstraints) > 0:
		problems = append(problems, "defaultingType: must be List when defaultConstraints are given")
	}
	seen := map[string]bool{}
	for i, c := range a.DefaultConstraints {
		field := func(name, problem string, args ...any) {
			problems = append(problems, fmt.Sprintf("defaultConstraints[%d].%s: ", i, name)+fmt.Sprintf(problem, args...))
		}
		if c.MaxSkew <= 0 {
			field("maxSkew", "must be positive, got %d", c.MaxSkew)
		}
		if c.TopologyKey == "" {
			field("topologyKey", "is required")
		} else if errs := validation.IsQualifiedName(c.TopologyKey); len(errs) > 0 {
			field("topologyKey", "%q is not a label name: %s", c.TopologyKey, errs[0])
		}
		if c.WhenUnsatisfiable != v1.DoNotSchedule && c.WhenUnsatisfiable != v1.ScheduleAnyway {
			field("whenUnsatisfiable", "must be %s or %s, got %q", v1.DoNotSchedule, v1.ScheduleAnyway, c.WhenUnsatisfiable)
		}
		if c.MinDomains != nil && *c.MinDomains <= 0 {
			field("minDomains", "must be positive, got %d", *c.MinDomains)
		} else if c.MinDomains != nil && c.WhenUnsatisfiable != v1.DoNotSchedule {
			field("minDomains", "can only be used with whenUnsatisfiable %s", v1.DoNotSchedule)
		}
		if c.LabelSelector != nil {
			field("labelSelector", "must not be set: a default constraint counts the pods of the pod's controller")
		}
		if len(c.MatchLabelKeys) > 0 {
			field("matchLabelKeys", "must not be set: a default constraint counts the pods of the pod's controller")
		}
		id := c.TopologyKey + "/" + string(c.WhenUnsatisfiable)
		if seen[id] {
			field("topologyKey", "duplicate constraint on %q with whenUnsatisfiable %s", c.TopologyKey, c.WhenUnsatisfiable)
		}
		seen[id] = true
	}
	return problems
}

// Name is PodTopologySpreadName.
func (*PodTopologySpread) Name() string { return PodTopologySpreadName }

// spreadConstraint is a constraint made ready to count pods.
type spreadConstraint struct {
	maxSkew     int64
	topologyKey string
	minDomains  int
	selector    *v1.LabelSelector // the pods counted, when owner is ""
	owner       string            // else the controller whose pods are counted
	self        int64             // 1 when the pod counts towards its own constraint
}

// count is the number of pods on n the constraint counts; ns is the
// incoming pod's namespace, the only one counted. Pods being deleted do
// not count (those of a controller do: ByOwner cannot tell).
func (c *spreadConstraint) count(n *framework.NodeInfo, ns string) int64 {
	if c.owner != "" {
		return int64(n.ByOwner[c.owner])
	}
	var k int64
	for _, p := range n.Pods {
		if p.Namespace == ns && p.DeletionTimestamp == nil && selectorMatches(c.selector, p.Labels) {
			k++
		}
	}
	return k
}

// constraints splits the pod's constraints, or its defaults, into those
// that filter (DoNotSchedule) and those that score; pet reports the
// system default for pets.
func (p *PodTopologySpread) constraints(pod *v1.Pod) (hard, soft []spreadConstraint, pet bool) {
	add := func(c spreadConstraint, when v1.UnsatisfiableConstraintAction) {
		if when == v1.DoNotSchedule {
			hard = append(hard, c)
		} else {
			soft = append(soft, c)
		}
	}
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		for i := range pod.Spec.TopologySpreadConstraints {
			c := &pod.Spec.TopologySpreadConstraints[i]
			sel := withMatchLabelKeys(c.LabelSelector, c.MatchLabelKeys, pod.Labels)
			sc := spreadConstraint{maxSkew: int64(c.MaxSkew), topologyKey: c.TopologyKey, minDomains: minDomains(c), selector: sel}
			if selectorMatches(sel, pod.Labels) {
				sc.self = 1
			}
			add(sc, c.WhenUnsatisfiable)
		}
		return hard, soft, false
	}
	if p.Defaulting == ListDefaulting {
		owner := framework.OwnerUID(pod)
		if owner == "" {
			return nil, nil, false
		}
		for i := range p.DefaultConstraints {
			c := &p.DefaultConstraints[i]
			add(spreadConstraint{maxSkew: int64(c.MaxSkew), topologyKey: c.TopologyKey, minDomains: minDomains(c), owner: owner, self: 1},
				c.WhenUnsatisfiable)
		}
		return hard, soft, false
	}
	owner := petOwnerUID(pod)
	if p.DisableDefaultPetSpreading || owner == "" {
		return nil, nil, false
	}
	return nil, []spreadConstraint{
		{maxSkew: 1, topologyKey: v1.LabelHostname, owner: owner, self: 1},
		{maxSkew: 1, topologyKey: v1.LabelTopologyZone, owner: owner, self: 1},
	}, true
}

func minDomains(c *v1.TopologySpreadConstraint) int {
	if c.MinDomains == nil {
		return 1
	}
	return int(*c.MinDomains)
}

// withMatchLabelKeys adds to sel, as Kubernetes does, a requirement on
// each of keys that the pod has a label for: its own value.
func withMatchLabelKeys(sel *v1.LabelSelector, keys []string, podLabels map[string]string) *v1.LabelSelector {
	if sel == nil || len(keys) == 0 {
		return sel
	}
	out := &v1.LabelSelector{MatchLabels: sel.MatchLabels, MatchExpressions: append([]v1.LabelSelectorRequirement(nil), sel.MatchExpressions...)}
	for _, k := range keys {
		if v, ok := podLabels[k]; ok {
			out.MatchExpressions = append(out.MatchExpressions, v1.LabelSelectorRequirement{Key: k, Operator: v1.LabelSelectorOpIn, Values: []string{v}})
		}
	}
	return out
}

// spreadState is what PreFilter computes for Filter and Score; nil when
// the pod has no constraints and gets no defaults.
type spreadState struct {
	filter spreadCounts
	score  spreadCounts
	// requireAll: a node without every scoring constraint's label is
	// left out of the scoring (it scores MinNodeScore).
	requireAll bool
	// weights, per scoring constraint, multiply its count.
	weights []float64
}

// PreFilter counts the pods each constraint counts, per domain, over the
// nodes the pod may go to.
func (p *PodTopologySpread) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod) *framework.Status {
	hard, soft, pet := p.constraints(pod)
	if len(hard)+len(soft) == 0 {
		state.Write(podTopologySpreadStateKey, (*spreadState)(nil))
		return nil
	}
	s := &spreadState{filter: newSpreadCounts(hard), score: newSpreadCounts(soft), requireAll: !pet}
	nodes := state.Nodes()
	p.count(&s.filter, pod, nodes, true, false)
	p.count(&s.score, pod, nodes, s.requireAll, true)
	s.weights = spreadWeights(&s.score, pet)
	state.Write(podTopologySpreadStateKey, s)
	return nil
}

// count counts c's pods per domain over the nodes the pod may go to, from
// the indexes when it can, else by reading every node; see add for
// requireAll and skipHost.
func (p *PodTopologySpread) count(c *spreadCounts, pod *v1.Pod, nodes []*framework.NodeInfo, requireAll, skipHost bool) {
	if len(c.constraints) == 0 || p.countIndexed(c, pod, nodes, requireAll) {
		return
	}
	for _, n := range nodes {
		if n.Node != nil && podSelectsNode(pod, n.Node) {
			c.add(n, pod.Namespace, requireAll, skipHost)
		}
	}
	c.finish()
}

// countIndexed fills c from the owner indexes and reports whether it
// could: every constraint must count a controller's pods, the pod must be
// free to go to every node, and with requireAll every node must have
// every constraint's key.
func (p *PodTopologySpread) countIndexed(c *spreadCounts, pod *v1.Pod, nodes []*framework.NodeInfo, requireAll bool) bool {
	if a := pod.Spec.Affinity; len(pod.Spec.NodeSelector) > 0 ||
		(a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil) {
		return false
	}
	for i := range c.constraints {
		if c.constraints[i].owner == "" {
			return false
		}
	}
	counts := make([]map[string]int64, len(c.constraints))
	domains, withKey := make([]int, len(c.constraints)), make([]int, len(c.constraints))
	for i := range c.constraints {
		sc := &c.constraints[i]
		// Hostname domains are counted per pod too (not only as nodes,
		// which would do for the skew): Score then reads a node's
		// siblings from this small, cache-warm map, not from the node.
		key := indexKey{sc.topologyKey}
		counts[i], domains[i], withKey[i] = p.index(key).domains(nodes, sc.owner)
		if requireAll && withKey[i] != len(nodes) {
			return false
		}
	}
	c.indexed = true
	for i := range c.constraints {
		c.counts[i], c.domains[i], c.nodes[i] = counts[i], domains[i], withKey[i]
		c.minCount[i] = 0 // some domain holds none of the pods
		if len(counts[i]) == domains[i] {
			c.minCount[i] = math.MaxInt64
			for _, k := range counts[i] {
				c.minCount[i] = min(c.minCount[i], k)
			}
		}
	}
	return true
}

// index is the owner index named key, made on first use.
func (p *PodTopologySpread) index(key indexKey) *ownerIndex {
	p.mu.Lock()
	defer p.mu.Unlock()
	x := p.indexes[key]
	if x == nil {
		if p.indexes == nil {
			p.indexes = map[indexKey]*ownerIndex{}
		}
		x = &ownerIndex{key: key.topologyKey}
		p.indexes[key] = x
	}
	return x
}

// spreadWeights weighs each scoring constraint by the log of its number of
// domains, as Kubernetes does. The pet default instead weighs a node above
// any difference between zones: one more sibling on the node outweighs
// the most siblings a zone has.
func spreadWeights(c *spreadCounts, pet bool) []float64 {
	if pet { // hostname, zone
		var most int64
		for _, k := range c.counts[1] {
			most = max(most, k)
		}
		return []float64{float64(most + 1), 1}
	}
	w := make([]float64, len(c.constraints))
	for i, sc := range c.constraints {
		domains := c.domains[i]
		if sc.topologyKey == v1.LabelHostname {
			domains = c.nodes[i]
		}
		w[i] = math.Log(float64(domains + 2))
	}
	return w
}

func (*PodTopologySpread) readState(state *framework.CycleState) (*spreadState, *framework.Status) {
	s, ok := framework.ReadAs[*spreadState](state, podTopologySpreadStateKey)
	if !ok {
		return nil, framework.AsStatus(errors.New("scheduler: PodTopologySpread: PreFilter did not run"))
	}
	return s, nil
}

// Filter rejects a node without a DoNotSchedule constraint's label, or
// where the pod would leave its domain more than maxSkew above the
// emptiest.
func (p *PodTopologySpread) Filter(_ context.Context, state *framework.CycleState, _ *v1.Pod, n *framework.NodeInfo) *framework.Status {
	s, st := p.readState(state)
	if s == nil || len(s.filter.constraints) == 0 {
		return st
	}
	f := &s.filter
	for i := range f.constraints {
		c := &f.constraints[i]
		value, ok := n.Label(c.topologyKey)
		if !ok {
			return framework.NewStatus(framework.Unschedulable, ReasonTopologySpreadMissingLabel)
		}
		least := f.minCount[i]
		if f.domains[i] < c.minDomains {
			least = 0
		}
		if f.counts[i][value]+c.self-least > c.maxSkew {
			return framework.NewStatus(framework.Unschedulable, ReasonTopologySpreadMismatch)
		}
	}
	return nil
}

// Score sums, over the ScheduleAnyway constraints, the pods counted in the
// node's domain times the constraint's weight, plus maxSkew-1 (which
// softens small skews), as Kubernetes does: the fewer the better, and
// NormalizeScore reverses it. A node left out of the scoring scores -1,
// which NormalizeScore turns into MinNodeScore.
func (p *PodTopologySpread) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	s, st := p.readState(state)
	if s == nil || len(s.score.constraints) == 0 {
		return 0, st
	}
	if n.Node == nil || (s.requireAll && !hasLabels(n, s.score.constraints)) {
		return -1, nil
	}
	var sum float64
	for i := range s.score.constraints {
		c := &s.score.constraints[i]
		value, ok := n.Label(c.topologyKey)
		if !ok {
			continue
		}
		var k int64
		if c.topologyKey == v1.LabelHostname && !s.score.indexed {
			k = c.count(n, pod.Namespace)
		} else {
			k = s.score.counts[i][value]
		}
		sum += float64(k)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(sum)), nil
}

// NormalizeScore turns the sums into MaxNodeScore for the lowest, down to
// MaxNodeScore × lowest / highest for the highest, with Kubernetes'
// formula; nodes left out score MinNodeScore.
func (*PodTopologySpread) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores []framework.NodeScore) *framework.Status {
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, s := range scores {
		if s.Score >= 0 {
			lo, hi = min(lo, s.Score), max(hi, s.Score)
		}
	}
	for i := range scores {
		switch v := scores[i].Score; {
		case v < 0:
			scores[i].Score = framework.MinNodeScore
		case hi == 0:
			scores[i].Score = framework.MaxNodeScore
		default:
			scores[i].Score = framework.MaxNodeScore * (hi + lo - v) / hi
		}
	}
	return nil
}
