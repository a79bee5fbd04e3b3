package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
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
	for i := range s.MatchExpressions {
		e := &s.MatchExpressions[i]
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
// namespaces defaulted to its owner's, its weight attached.
type affinityTerm struct {
	selector    *v1.LabelSelector
	namespaces  []string
	nsSelector  *v1.LabelSelector
	topologyKey string
	weight      int64
}

// newAffinityTerm readies t, a term of a pod in namespace ns: as in
// Kubernetes, a term that names neither namespaces nor a namespace
// selector means the pod's own namespace.
func newAffinityTerm(t *v1.PodAffinityTerm, ns string, weight int32) affinityTerm {
	at := affinityTerm{selector: t.LabelSelector, namespaces: t.Namespaces, nsSelector: t.NamespaceSelector,
		topologyKey: t.TopologyKey, weight: int64(weight)}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		at.namespaces = []string{ns}
	}
	return at
}

// matches reports whether pod is one of the pods the term selects; nsl
// gives the labels of pod's namespace, for the namespace selector.
func (t *affinityTerm) matches(pod *v1.Pod, nsl *namespaceLabels) bool {
	if !slices.Contains(t.namespaces, pod.Namespace) && !t.nsSelects(pod.Namespace, nsl) {
		return false
	}
	return selectorMatches(t.selector, pod.Labels)
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

// requiredTerms readies a pod's required affinity and anti-affinity
// terms; preferredTerms its preferred ones, with their weights.
func requiredTerms(terms []v1.PodAffinityTerm, ns string) []affinityTerm {
	out := make([]affinityTerm, len(terms))
	for i := range terms {
		out[i] = newAffinityTerm(&terms[i], ns, 1)
	}
	return out
}

func preferredTerms(terms []v1.WeightedPodAffinityTerm, ns string) []affinityTerm {
	out := make([]affinityTerm, len(terms))
	for i := range terms {
		out[i] = newAffinityTerm(&terms[i].PodAffinityTerm, ns, terms[i].Weight)
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

// decodeArgs decodes a plugin's JSON args into out strictly: an unknown
// field or trailing data is an error. Empty args and null leave out as
// it is.
func decodeArgs(data json.RawMessage, out any) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the args object")
	}
	return nil
}

// argsError joins the problems found in a plugin's args into one error
// prefixed by the plugin, or returns nil when there are none.
func argsError(plugin string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("scheduler: %s args: %s", plugin, strings.Join(problems, "; "))
}
