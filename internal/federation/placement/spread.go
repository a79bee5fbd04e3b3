package placement

import (
	"cmp"
	"fmt"
	"slices"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// group is the clusters of one region, zone or cluster name.
type group struct {
	key      string
	clusters map[string]bool
	current  bool  // holds a current cluster
	freeCPU  int64 // millicores, summed over its clusters
}

// spread applies spread constraint i to the eligible clusters: fewer than
// MinGroups groups is an error; beyond MaxGroups, only the best groups are
// kept and the clusters of the others are recorded in rejected.
func spread(i int, sc v1.SpreadConstraint, clusters []*v1.Cluster, current map[string]bool, rejected map[string]string) ([]*v1.Cluster, error) {
	groups, err := groupClusters(i, sc.SpreadByField, clusters, current)
	if err != nil {
		return nil, err
	}
	if n := int32(len(groups)); n < sc.MinGroups {
		verb := "are"
		if n == 1 {
			verb = "is"
		}
		return nil, &UnschedulableError{Message: fmt.Sprintf("spreadConstraints[%d]: needs at least %d %ss, %d %s eligible",
			i, sc.MinGroups, sc.SpreadByField, n, verb)}
	}
	if sc.MaxGroups <= 0 || len(groups) <= int(sc.MaxGroups) {
		return clusters, nil
	}
	slices.SortFunc(groups, func(a, b *group) int {
		if a.current != b.current {
			if a.current {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.freeCPU, a.freeCPU); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	kept := map[string]bool{}
	for _, g := range groups[:sc.MaxGroups] {
		for name := range g.clusters {
			kept[name] = true
		}
	}
	var out []*v1.Cluster
	for _, c := range clusters {
		if kept[c.Name] {
			out = append(out, c)
			continue
		}
		rejected[c.Name] = fmt.Sprintf(reasonSpread, sc.MaxGroups, sc.SpreadByField+"s", i)
	}
	return out, nil
}

// groupClusters groups clusters by the spread field, in no set order.
func groupClusters(i int, by v1.SpreadByField, clusters []*v1.Cluster, current map[string]bool) ([]*group, error) {
	byKey := map[string]*group{}
	var groups []*group
	for _, c := range clusters {
		var key string
		switch by {
		case v1.SpreadByRegion:
			key = c.Spec.Region
		case v1.SpreadByZone:
			if len(c.Spec.Zones) > 0 {
				key = c.Spec.Zones[0]
			}
		case v1.SpreadByCluster:
			key = c.Name
		default:
			return nil, fmt.Errorf("placement: spreadConstraints[%d].spreadByField: %q is not region, zone or cluster", i, by)
		}
		g := byKey[key]
		if g == nil {
			g = &group{key: key, clusters: map[string]bool{}}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.clusters[c.Name] = true
		g.current = g.current || current[c.Name]
		g.freeCPU += c.Status.Free.CPU().MilliValue()
	}
	return groups, nil
}
