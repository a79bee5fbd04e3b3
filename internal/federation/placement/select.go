package placement

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// Selection is what Select chose.
type Selection struct {
	// Clusters are the selected clusters, ordered by name, except that
	// those with an untolerated PreferNoSchedule taint come last.
	Clusters []*v1.Cluster
	// Rejected says, for every cluster not selected, why not
	// ("is not Ready", "does not match clusterAffinity.labelSelector", …).
	Rejected map[string]string
}

// Names returns the names of the selected clusters, in order.
func (s Selection) Names() []string {
	names := make([]string, len(s.Clusters))
	for i, c := range s.Clusters {
		names[i] = c.Name
	}
	return names
}

// UnschedulableError says that no cluster, or too few groups of clusters,
// can be selected; the message counts the reasons, as Kubernetes'
// scheduler does ("0/4 clusters are eligible: 3 do not match
// clusterAffinity.labelSelector, 1 is not Ready"). Other errors of Select
// are invalid specs.
type UnschedulableError struct {
	// Message is the error without the "placement: " prefix.
	Message string
}

// Error is the message with the component prefix.
func (e *UnschedulableError) Error() string { return "placement: " + e.Message }

// Why a cluster is rejected, worded for one cluster; plural rewords them
// for a count of several.
const (
	reasonNotNamed    = "is not in clusterAffinity.clusterNames"
	reasonExcluded    = "is excluded by clusterAffinity.exclude"
	reasonNoLabel     = "does not match clusterAffinity.labelSelector"
	reasonNotReady    = "is not Ready"
	reasonTaintFormat = "has untolerated taint {%s: %s}"
	reasonSpread      = "is outside the %d %s chosen by spreadConstraints[%d]"
)

// Select chooses the clusters of a placement among clusters. current are
// the clusters that already hold a share of the placed objects: they stay
// eligible while not Ready (failover decides when to leave them), and
// spread constraints keep their groups first.
//
// A cluster is eligible when it passes every part of spec.clusterAffinity
// (a hard requirement), tolerates every NoSchedule and NoExecute taint it
// has, and is Ready or current. Spread constraints then keep at most
// maxGroups groups (regions, zones or clusters), ranked by holding a
// current cluster, then by total free cpu, then by name; fewer than
// minGroups eligible groups is an error. An untolerated PreferNoSchedule
// taint only orders a cluster last.
//
// When nothing can be selected the error is an *UnschedulableError and the
// returned Selection still carries Rejected, for the caller to report.
func Select(spec *v1.PlacementSpec, clusters []*v1.Cluster, current []string) (Selection, error) {
	f, err := newFilter(spec, current)
	if err != nil {
		return Selection{}, err
	}
	sel := Selection{Rejected: map[string]string{}}
	var eligible []*v1.Cluster
	for _, c := range clusters {
		if r := f.reject(c); r != "" {
			sel.Rejected[c.Name] = r
			continue
		}
		eligible = append(eligible, c)
	}
	if len(eligible) == 0 {
		return sel, &UnschedulableError{Message: fmt.Sprintf("0/%d clusters are eligible%s", len(clusters), countReasons(sel.Rejected))}
	}
	for i, sc := range spec.SpreadConstraints {
		if eligible, err = spread(i, sc, eligible, f.current, sel.Rejected); err != nil {
			return sel, err
		}
	}
	sel.Clusters = eligible
	slices.SortStableFunc(sel.Clusters, func(a, b *v1.Cluster) int {
		pa, pb := f.repelled(a), f.repelled(b)
		if pa != pb {
			if pa {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return sel, nil
}

// filter holds a placement's hard requirements on a single cluster.
type filter struct {
	names, exclude map[string]bool // names nil: any name
	labels         labels.Selector // nil: any labels
	tolerations    []v1.Toleration
	current        map[string]bool
}

func newFilter(spec *v1.PlacementSpec, current []string) (*filter, error) {
	f := &filter{tolerations: spec.ClusterTolerations, current: set(current)}
	a := spec.ClusterAffinity
	if a == nil {
		return f, nil
	}
	if len(a.ClusterNames) > 0 {
		f.names = set(a.ClusterNames)
	}
	f.exclude = set(a.ExcludeClusters)
	if a.LabelSelector != nil {
		s, err := a.LabelSelector.AsSelector()
		if err != nil {
			return nil, fmt.Errorf("placement: clusterAffinity.labelSelector: %w", err)
		}
		f.labels = s
	}
	return f, nil
}

// reject returns why c is not eligible, or "" when it is.
func (f *filter) reject(c *v1.Cluster) string {
	switch {
	case f.names != nil && !f.names[c.Name]:
		return reasonNotNamed
	case f.exclude[c.Name]:
		return reasonExcluded
	case f.labels != nil && !f.labels.Matches(labels.Set(c.Labels)):
		return reasonNoLabel
	}
	for i := range c.Spec.Taints {
		t := &c.Spec.Taints[i]
		if t.Effect != v1.TaintEffectPreferNoSchedule && !v1.ToleratesTaint(f.tolerations, t) {
			return fmt.Sprintf(reasonTaintFormat, t.Key, t.Value)
		}
	}
	if !f.current[c.Name] && !isReady(c) {
		return reasonNotReady
	}
	return ""
}

// repelled reports whether c has a PreferNoSchedule taint the placement
// does not tolerate.
func (f *filter) repelled(c *v1.Cluster) bool {
	for i := range c.Spec.Taints {
		t := &c.Spec.Taints[i]
		if t.Effect == v1.TaintEffectPreferNoSchedule && !v1.ToleratesTaint(f.tolerations, t) {
			return true
		}
	}
	return false
}

func isReady(c *v1.Cluster) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == v1.ClusterReady {
			return cond.Status == v1.ConditionTrue
		}
	}
	return false
}

// countReasons is ": 3 do not match …, 1 is not Ready", reasons sorted.
func countReasons(rejected map[string]string) string {
	counts := map[string]int{}
	for _, r := range rejected {
		counts[r]++
	}
	if len(counts) == 0 {
		return ""
	}
	parts := make([]string, 0, len(counts))
	for _, r := range slices.Sorted(maps.Keys(counts)) {
		n := counts[r]
		if n > 1 {
			r = plural(r)
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	return ": " + strings.Join(parts, ", ")
}

// plural rewords a reason for several clusters: "is not Ready" becomes
// "are not Ready".
func plural(r string) string {
	for _, p := range [][2]string{{"is ", "are "}, {"does ", "do "}, {"has ", "have "}} {
		if rest, ok := strings.CutPrefix(r, p[0]); ok {
			return p[1] + rest
		}
	}
	return r
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
