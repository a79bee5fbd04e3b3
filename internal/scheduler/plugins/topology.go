package plugins

import (
	"slices"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// topologyPair is one topology domain: a node label and its value
// ("topology.kubernetes.io/zone" = "eu-1a").
type topologyPair struct {
	key, value string
}

// selectorMatches reports whether s selects labels, with Kubernetes'
// meaning (nil selects nothing, empty everything). Unlike
// v1.LabelSelector.Matches it builds no apimachinery selector: the
// affinity and spreading plugins match every pod of the cluster against
// a handful of selectors per cycle, and must not allocate to do it. The
// API server has validated the selector's syntax; an unknown operator
// matches nothing.
func selectorMatches(s *v1.LabelSelector, labels map[string]string) bool {
	if s == nil {
		return false
	}
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return expressionsMatch(s.MatchExpressions, labels)
}

// expressionsMatch ANDs a selector's matchExpressions.
func expressionsMatch(exprs []v1.LabelSelectorRequirement, labels map[string]string) bool {
	for i := range exprs {
		e := &exprs[i]
		v, ok := labels[e.Key]
		switch e.Operator {
		case v1.LabelSelectorOpIn:
			if !ok || !slices.Contains(e.Values, v) {
				return false
			}
		case v1.LabelSelectorOpNotIn:
			if ok && slices.Contains(e.Values, v) {
				return false
			}
		case v1.LabelSelectorOpExists:
			if !ok {
				return false
			}
		case v1.LabelSelectorOpDoesNotExist:
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// isEmptySelector reports whether s is set and selects everything.
func isEmptySelector(s *v1.LabelSelector) bool {
	return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

// affinityTerm is a pod affinity term made ready to match pods: its
// namespaces defaulted to its owner's, its weight attached, and, for the
// incoming pod's terms, which are matched against every pod of the
// cluster, its matchLabels flattened (ranging over a map costs more than
// the match).
type affinityTerm struct {
	selector    *v1.LabelSelector
	flat        bool        // matchLabels holds the selector's matchLabels
	matchLabels []labelPair // when flat
	namespaces  []string
	ownNS       string // the namespace of a term that names none
	ownNSOnly   bool
	nsSelector  *v1.LabelSelector
	topologyKey string
	weight      int64
}

// newAffinityTerm readies t, a term of a pod in namespace ns: as in
// Kubernetes, a term that names neither namespaces nor a namespace
// selector means the pod's own namespace. It does not allocate: the
// existing pods' terms are readied every cycle.
func newAffinityTerm(t *v1.PodAffinityTerm, ns string, weight int32) affinityTerm {
	return affinityTerm{selector: t.LabelSelector, namespaces: t.Namespaces, nsSelector: t.NamespaceSelector,
		ownNS: ns, ownNSOnly: len(t.Namespaces) == 0 && t.NamespaceSelector == nil,
		topologyKey: t.TopologyKey, weight: int64(weight)}
}

type labelPair struct{ key, value string }

// flatten fills matchLabels from the selector.
func (t *affinityTerm) flatten() {
	t.flat = true
	if t.selector == nil {
		return
	}
	for k, v := range t.selector.MatchLabels {
		t.matchLabels = append(t.matchLabels, labelPair{k, v})
	}
}

// matches reports whether pod is one of the pods the term selects; nsl
// gives the labels of pod's namespace, for the namespace selector.
func (t *affinityTerm) matches(pod *v1.Pod, nsl *namespaceLabels) bool {
	switch {
	case t.ownNSOnly:
		if pod.Namespace != t.ownNS {
			return false
		}
	case !slices.Contains(t.namespaces, pod.Namespace) && !t.nsSelects(pod.Namespace, nsl):
		return false
	}
	if !t.flat || t.selector == nil {
		return selectorMatches(t.selector, pod.Labels)
	}
	for _, l := range t.matchLabels {
		if v, ok := pod.Labels[l.key]; !ok || v != l.value {
			return false
		}
	}
	return expressionsMatch(t.selector.MatchExpressions, pod.Labels)
}

// nsSelects applies the term's namespace selector to namespace ns. An
// empty selector selects every namespace, as in Kubernetes; any other
// needs the namespace's labels, and selects nothing when they are
// unknown.
func (t *affinityTerm) nsSelects(ns string, nsl *namespaceLabels) bool {
	switch {
	case t.nsSelector == nil:
		return false
	case isEmptySelector(t.nsSelector):
		return true
	}
	labels, ok := nsl.get(ns)
	return ok && selectorMatches(t.nsSelector, labels)
}

// namespaceLabels looks up namespaces' labels once per cycle through an
// optional lookup; with none, every namespace's labels are unknown.
type namespaceLabels struct {
	lookup func(namespace string) (map[string]string, bool)
	seen   map[string]map[string]string
}

func (n *namespaceLabels) get(ns string) (map[string]string, bool) {
	if n == nil || n.lookup == nil {
		return nil, false
	}
	if l, ok := n.seen[ns]; ok {
		return l, l != nil
	}
	l, ok := n.lookup(ns)
	if !ok {
		l = nil
	} else if l == nil {
		l = map[string]string{}
	}
	if n.seen == nil {
		n.seen = map[string]map[string]string{}
	}
	n.seen[ns] = l
	return l, l != nil
}

// requiredTerms readies the incoming pod's required affinity and
// anti-affinity terms; preferredTerms its preferred ones, with their
// weights.
func requiredTerms(terms []v1.PodAffinityTerm, ns string) []affinityTerm {
	out := make([]affinityTerm, len(terms))
	for i := range terms {
		out[i] = newAffinityTerm(&terms[i], ns, 1)
		out[i].flatten()
	}
	return out
}

func preferredTerms(terms []v1.WeightedPodAffinityTerm, ns string) []affinityTerm {
	out := make([]affinityTerm, len(terms))
	for i := range terms {
		out[i] = newAffinityTerm(&terms[i].PodAffinityTerm, ns, terms[i].Weight)
		out[i].flatten()
	}
	return out
}

// hasPodAffinity reports whether pod has any pod affinity or
// anti-affinity term, required or preferred.
func hasPodAffinity(pod *v1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	if pa := a.PodAffinity; pa != nil && len(pa.RequiredDuringSchedulingIgnoredDuringExecution)+len(pa.PreferredDuringSchedulingIgnoredDuringExecution) > 0 {
		return true
	}
	pa := a.PodAntiAffinity
	return pa != nil && len(pa.RequiredDuringSchedulingIgnoredDuringExecution)+len(pa.PreferredDuringSchedulingIgnoredDuringExecution) > 0
}

// petOwnerUID is the UID of pod's controller when that is a PetSet (or,
// in Kubernetes' words, a StatefulSet), else "".
func petOwnerUID(pod *v1.Pod) string {
	ref := v1.GetControllerOf(pod)
	if ref == nil || (ref.Kind != "PetSet" && ref.Kind != "StatefulSet") {
		return ""
	}
	return ref.UID
}

// affinityIndex keeps, for each NodeInfo of the last snapshot, its pods
// that have pod affinity terms, so that PreFilter for a pod without terms
// need not read the cluster's every pod to learn whether any pod has
// terms. NodeInfos are copy-on-write (a change replaces the NodeInfo), so
// a NodeInfo seen before has the same pods: an unchanged node costs one
// pointer comparison, and only the nodes changed since the last cycle
// (typically the one the last pod was assumed onto) are read again.
type affinityIndex struct {
	mu        sync.Mutex
	entries   []affinityEntry // aligned with the last snapshot
	withTerms int             // pods with terms in entries
}

type affinityEntry struct {
	info *framework.NodeInfo
	pods []*v1.Pod // info's pods with terms, on a node with labels
}

// visit brings the index up to date with nodes, calls f for each pod
// with terms and its node, and returns how many there are. f runs under
// the index's lock, which keeps the entries, updated in place, from
// changing under it.
func (x *affinityIndex) visit(nodes []*framework.NodeInfo, f func(existing *v1.Pod, node *v1.Node)) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.entries) != len(nodes) {
		x.entries, x.withTerms = make([]affinityEntry, len(nodes)), 0
	}
	for i, n := range nodes {
		if e := &x.entries[i]; e.info != n {
			x.withTerms -= len(e.pods)
			*e = affinityEntry{info: n, pods: podsWithTerms(n)}
			x.withTerms += len(e.pods)
		}
	}
	if x.withTerms > 0 {
		for _, e := range x.entries {
			for _, p := range e.pods {
				f(p, e.info.Node)
			}
		}
	}
	return x.withTerms
}

// podsWithTerms lists n's pods that have pod affinity terms; none when
// the node has no labels, and so no topology domain.
func podsWithTerms(n *framework.NodeInfo) []*v1.Pod {
	if !n.HasLabels() {
		return nil
	}
	var out []*v1.Pod
	for _, p := range n.Pods {
		if hasPodAffinity(p) {
			out = append(out, p)
		}
	}
	return out
}

// ownerIndex counts, from cycle to cycle, the pods of each controller in
// each domain of one topology key over the nodes of the last snapshot,
// so that spreading a controller's pods (the defaults) need not read
// every node each cycle. Like affinityIndex it relies on NodeInfos being
// copy-on-write: it subtracts a replaced NodeInfo's ByOwner and adds its
// successor's.
type ownerIndex struct {
	key     string
	mu      sync.Mutex
	entries []ownerEntry                // aligned with the last snapshot
	nodes   map[string]int              // value → nodes with it
	withKey int                         // nodes with the key
	counts  map[string]map[string]int64 // owner → value → pods
}

type ownerEntry struct {
	info  *framework.NodeInfo
	value string
	has   bool // the node has the key
}

// domains brings the index up to date with nodes and returns a copy of
// owner's pods per domain (domains without any left out), the number of
// domains, and the number of nodes that have the key.
func (x *ownerIndex) domains(nodes []*framework.NodeInfo, owner string) (counts map[string]int64, domains, withKey int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.entries) != len(nodes) || x.nodes == nil {
		x.entries, x.nodes, x.withKey, x.counts = make([]ownerEntry, len(nodes)), map[string]int{}, 0, map[string]map[string]int64{}
	}
	for i, n := range nodes {
		e := &x.entries[i]
		if e.info == n {
			continue
		}
		x.apply(e, -1)
		*e = ownerEntry{info: n}
		e.value, e.has = n.Label(x.key)
		x.apply(e, 1)
	}
	counts = make(map[string]int64, len(x.counts[owner]))
	for value, k := range x.counts[owner] {
		counts[value] = k
	}
	return counts, len(x.nodes), x.withKey
}

// apply adds (sign 1) or removes (-1) e's node and pods.
func (x *ownerIndex) apply(e *ownerEntry, sign int) {
	if e.info == nil || !e.has {
		return
	}
	x.withKey += sign
	if x.nodes[e.value] += sign; x.nodes[e.value] == 0 {
		delete(x.nodes, e.value)
	}
	for owner, k := range e.info.ByOwner {
		byValue := x.counts[owner]
		if byValue == nil {
			byValue = map[string]int64{}
			x.counts[owner] = byValue
		}
		if byValue[e.value] += int64(sign * k); byValue[e.value] == 0 {
			delete(byValue, e.value)
		}
		if len(byValue) == 0 {
			delete(x.counts, owner)
		}
	}
}

// spreadCounts counts pods per domain for a list of constraints.
type spreadCounts struct {
	constraints []spreadConstraint
	counts      []map[string]int64 // per constraint, by label value
	minCount    []int64            // per constraint, over its domains
	domains     []int              // per constraint
	nodes       []int              // per constraint, nodes counted
	// indexed: counts came from the owner indexes, which count hostname
	// domains too, so Score reads a node's own count there instead of
	// looking the owner up on the node.
	indexed bool
}

func newSpreadCounts(cs []spreadConstraint) spreadCounts {
	c := spreadCounts{constraints: cs, counts: make([]map[string]int64, len(cs)), minCount: make([]int64, len(cs)),
		domains: make([]int, len(cs)), nodes: make([]int, len(cs))}
	for i := range cs {
		c.counts[i] = map[string]int64{}
	}
	return c
}

// add counts n's pods; with requireAll only when n has every
// constraint's label, else for each constraint whose label it has.
// Hostname domains are counted by Score on the node itself, as in
// Kubernetes, when skipHost.
func (c *spreadCounts) add(n *framework.NodeInfo, ns string, requireAll, skipHost bool) {
	if requireAll && !hasLabels(n, c.constraints) {
		return
	}
	for i := range c.constraints {
		sc := &c.constraints[i]
		value, ok := n.Label(sc.topologyKey)
		if !ok {
			continue
		}
		c.nodes[i]++
		if skipHost && sc.topologyKey == v1.LabelHostname {
			continue
		}
		c.counts[i][value] += sc.count(n, ns)
	}
}

func (c *spreadCounts) finish() {
	for i, byValue := range c.counts {
		c.domains[i] = len(byValue)
		first := true
		for _, k := range byValue {
			if first || k < c.minCount[i] {
				c.minCount[i], first = k, false
			}
		}
	}
}

func hasLabels(n *framework.NodeInfo, cs []spreadConstraint) bool {
	for i := range cs {
		if _, ok := n.Label(cs[i].topologyKey); !ok {
			return false
		}
	}
	return true
}
