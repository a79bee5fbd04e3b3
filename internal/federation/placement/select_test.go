package placement

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// cluster is a Ready member in region with the given options.
func cluster(name, region string, opts ...func(*v1.Cluster)) *v1.Cluster {
	c := &v1.Cluster{
		ObjectMeta: v1.ObjectMeta{Name: name, Labels: map[string]string{"region": region}},
		Spec:       v1.ClusterSpec{Region: region},
		Status: v1.ClusterStatus{Conditions: []v1.Condition{
			{Type: v1.ClusterReady, Status: v1.ConditionTrue},
		}},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func notReady(c *v1.Cluster) { c.Status.Conditions[0].Status = v1.ConditionFalse }

func noConditions(c *v1.Cluster) { c.Status.Conditions = nil }

func label(k, v string) func(*v1.Cluster) {
	return func(c *v1.Cluster) { c.Labels[k] = v }
}

func zones(z ...string) func(*v1.Cluster) {
	return func(c *v1.Cluster) { c.Spec.Zones = z }
}

func taint(key, value string, effect v1.TaintEffect) func(*v1.Cluster) {
	return func(c *v1.Cluster) {
		c.Spec.Taints = append(c.Spec.Taints, v1.Taint{Key: key, Value: value, Effect: effect})
	}
}

func freeCPU(q string) func(*v1.Cluster) {
	return func(c *v1.Cluster) { c.Status.Free = v1.ResourceList{v1.ResourceCPU: resource.MustParse(q)} }
}

// selectCase is a Select that succeeds: the clusters it keeps, in order,
// and why it rejects the others.
type selectCase struct {
	name     string
	spec     v1.PlacementSpec
	clusters []*v1.Cluster
	current  []string
	want     []string
	rejected map[string]string
}

func selectCases() []selectCase {
	gold := &v1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
	return []selectCase{{
		name:     "no affinity selects every ready cluster, by name",
		clusters: []*v1.Cluster{cluster("c", "eu"), cluster("a", "us"), cluster("b", "eu", notReady), cluster("d", "eu", noConditions)},
		want:     []string{"a", "c"},
		rejected: map[string]string{"b": "is not Ready", "d": "is not Ready"},
	}, {
		name: "every part of the affinity must hold",
		spec: v1.PlacementSpec{ClusterAffinity: &v1.ClusterAffinity{
			ClusterNames:    []string{"a", "b", "c"},
			LabelSelector:   gold,
			ExcludeClusters: []string{"b"},
		}},
		clusters: []*v1.Cluster{
			cluster("a", "eu", label("tier", "gold")), cluster("b", "eu", label("tier", "gold")),
			cluster("c", "eu"), cluster("d", "eu", label("tier", "gold")),
		},
		want: []string{"a"},
		rejected: map[string]string{
			"b": "is excluded by clusterAffinity.exclude",
			"c": "does not match clusterAffinity.labelSelector",
			"d": "is not in clusterAffinity.clusterNames",
		},
	}, {
		name: "taints: NoSchedule and NoExecute repel, tolerated ones do not, PreferNoSchedule orders last",
		spec: v1.PlacementSpec{ClusterTolerations: []v1.Toleration{
			{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "db", Effect: v1.TaintEffectNoSchedule},
		}},
		clusters: []*v1.Cluster{
			cluster("a", "eu", taint("cost", "high", v1.TaintEffectPreferNoSchedule)),
			cluster("b", "eu", taint("dedicated", "db", v1.TaintEffectNoSchedule)),
			cluster("c", "eu", taint("dedicated", "web", v1.TaintEffectNoSchedule)),
			cluster("d", "eu", taint("draining", "", v1.TaintEffectNoExecute)),
			cluster("e", "eu"),
		},
		want: []string{"b", "e", "a"},
		rejected: map[string]string{
			"c": "has untolerated taint {dedicated: web}",
			"d": "has untolerated taint {draining: }",
		},
	}, {
		name: "a tolerated PreferNoSchedule taint does not order last",
		spec: v1.PlacementSpec{ClusterTolerations: []v1.Toleration{{Key: "cost", Operator: v1.TolerationOpExists}}},
		clusters: []*v1.Cluster{
			cluster("a", "eu", taint("cost", "high", v1.TaintEffectPreferNoSchedule)), cluster("b", "eu"),
		},
		want:     []string{"a", "b"},
		rejected: map[string]string{},
	}, {
		name: "a current cluster stays while not Ready, but never against the affinity",
		spec: v1.PlacementSpec{ClusterAffinity: &v1.ClusterAffinity{LabelSelector: gold}},
		clusters: []*v1.Cluster{
			cluster("a", "eu", label("tier", "gold"), notReady),
			cluster("b", "eu", notReady),
			cluster("c", "eu", label("tier", "gold"), notReady),
		},
		current: []string{"a", "b"},
		want:    []string{"a"},
		rejected: map[string]string{
			"b": "does not match clusterAffinity.labelSelector",
			"c": "is not Ready",
		},
	}}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	for _, tt := range selectCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sel, err := Select(&tt.spec, tt.clusters, tt.current)
			if err != nil {
				t.Fatalf("Select: %v", err)
			}
			if got := sel.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("clusters = %v, want %v", got, tt.want)
			}
			if !maps.Equal(sel.Rejected, tt.rejected) {
				t.Errorf("rejected = %v, want %v", sel.Rejected, tt.rejected)
			}
		})
	}
}

func TestSelectSpread(t *testing.T) {
	t.Parallel()
	clusters := []*v1.Cluster{
		cluster("eu-1", "eu", zones("eu-a"), freeCPU("2")),
		cluster("eu-2", "eu", zones("eu-b"), freeCPU("2")),
		cluster("us-1", "us", zones("us-a"), freeCPU("3")),
		cluster("ap-1", "ap", freeCPU("8")),
		cluster("sa-1", "sa", zones("sa-a"), freeCPU("4"), notReady),
	}
	tests := []struct {
		name        string
		constraints []v1.SpreadConstraint
		current     []string
		want        []string
	}{
		{"most free cpu first (eu sums 4 > us 3)", []v1.SpreadConstraint{{SpreadByField: v1.SpreadByRegion, MaxGroups: 2}}, nil, []string{"ap-1", "eu-1", "eu-2"}},
		{"a current cluster's group first", []v1.SpreadConstraint{{SpreadByField: v1.SpreadByRegion, MaxGroups: 2}}, []string{"us-1"}, []string{"ap-1", "us-1"}},
		{"a current not-Ready cluster's group first", []v1.SpreadConstraint{{SpreadByField: v1.SpreadByRegion, MaxGroups: 1}}, []string{"sa-1"}, []string{"sa-1"}},
		{"by zone, no zone is a group too", []v1.SpreadConstraint{{SpreadByField: v1.SpreadByZone, MaxGroups: 2}}, nil, []string{"ap-1", "us-1"}},
		{"ties by name (eu-a before eu-b)", []v1.SpreadConstraint{{SpreadByField: v1.SpreadByZone, MaxGroups: 3}}, nil, []string{"ap-1", "eu-1", "us-1"}},
		{"by cluster", []v1.SpreadConstraint{{SpreadByField: v1.SpreadByCluster, MaxGroups: 1}}, nil, []string{"ap-1"}},
		{"within bounds keeps all", []v1.SpreadConstraint{{SpreadByField: v1.SpreadByRegion, MinGroups: 3, MaxGroups: 3}}, nil, []string{"ap-1", "eu-1", "eu-2", "us-1"}},
		{"constraints apply in turn", []v1.SpreadConstraint{
			{SpreadByField: v1.SpreadByRegion, MaxGroups: 2},
			{SpreadByField: v1.SpreadByCluster, MaxGroups: 2},
		}, nil, []string{"ap-1", "eu-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sel, err := Select(&v1.PlacementSpec{SpreadConstraints: tt.constraints}, clusters, tt.current)
			if err != nil {
				t.Fatalf("Select: %v", err)
			}
			if got := sel.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("clusters = %v, want %v (rejected %v)", got, tt.want, sel.Rejected)
			}
		})
	}
	t.Run("rejected by spread says why", func(t *testing.T) {
		t.Parallel()
		spec := &v1.PlacementSpec{SpreadConstraints: []v1.SpreadConstraint{{SpreadByField: v1.SpreadByRegion, MaxGroups: 2}}}
		sel, err := Select(spec, clusters, nil)
		if err != nil {
			t.Fatalf("Select: %v", err)
		}
		if got, want := sel.Rejected["us-1"], "is outside the 2 regions chosen by spreadConstraints[0]"; got != want {
			t.Errorf("rejected[us-1] = %q, want %q", got, want)
		}
	})
}

// selectErrorCase is a Select that fails, and whether it fails as
// unschedulable rather than invalid.
type selectErrorCase struct {
	name          string
	spec          v1.PlacementSpec
	clusters      []*v1.Cluster
	want          string
	unschedulable bool
}

func selectErrorCases() []selectErrorCase {
	gold := &v1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}
	return []selectErrorCase{{
		name: "counts per reason, sorted",
		spec: v1.PlacementSpec{ClusterAffinity: &v1.ClusterAffinity{LabelSelector: gold}},
		clusters: []*v1.Cluster{
			cluster("a", "eu"), cluster("b", "eu"), cluster("c", "eu"),
			cluster("d", "eu", label("tier", "gold"), notReady),
		},
		want:          "placement: 0/4 clusters are eligible: 3 do not match clusterAffinity.labelSelector, 1 is not Ready",
		unschedulable: true,
	}, {
		name: "plural of has and is",
		clusters: []*v1.Cluster{
			cluster("a", "eu", taint("x", "1", v1.TaintEffectNoSchedule)), cluster("b", "eu", taint("x", "1", v1.TaintEffectNoSchedule)),
			cluster("c", "eu", notReady), cluster("d", "eu", notReady),
		},
		want:          "placement: 0/4 clusters are eligible: 2 have untolerated taint {x: 1}, 2 are not Ready",
		unschedulable: true,
	}, {
		name:          "no clusters",
		want:          "placement: 0/0 clusters are eligible",
		unschedulable: true,
	}, {
		name:          "too few groups",
		spec:          v1.PlacementSpec{SpreadConstraints: []v1.SpreadConstraint{{SpreadByField: v1.SpreadByRegion, MinGroups: 3}}},
		clusters:      []*v1.Cluster{cluster("a", "eu"), cluster("b", "eu"), cluster("c", "us"), cluster("d", "ap", notReady)},
		want:          "placement: spreadConstraints[0]: needs at least 3 regions, 2 are eligible",
		unschedulable: true,
	}, {
		name:          "too few groups, one eligible",
		spec:          v1.PlacementSpec{SpreadConstraints: []v1.SpreadConstraint{{SpreadByField: v1.SpreadByZone, MinGroups: 2}}},
		clusters:      []*v1.Cluster{cluster("a", "eu", zones("z")), cluster("b", "us", zones("z"))},
		want:          "placement: spreadConstraints[0]: needs at least 2 zones, 1 is eligible",
		unschedulable: true,
	}, {
		name: "invalid label selector",
		spec: v1.PlacementSpec{ClusterAffinity: &v1.ClusterAffinity{LabelSelector: &v1.LabelSelector{
			MatchExpressions: []v1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}},
		}}},
		clusters: []*v1.Cluster{cluster("a", "eu")},
		want:     `placement: clusterAffinity.labelSelector: "Near" is not a valid label selector operator`,
	}, {
		name:     "unknown spread field",
		spec:     v1.PlacementSpec{SpreadConstraints: []v1.SpreadConstraint{{SpreadByField: "rack"}}},
		clusters: []*v1.Cluster{cluster("a", "eu")},
		want:     `placement: spreadConstraints[0].spreadByField: "rack" is not region, zone or cluster`,
	}}
}

func TestSelectErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range selectErrorCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sel, err := Select(&tt.spec, tt.clusters, nil)
			if err == nil {
				t.Fatalf("Select = %v, want error %q", sel.Names(), tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
			var u *UnschedulableError
			if errors.As(err, &u) != tt.unschedulable {
				t.Errorf("errors.As(%v, *UnschedulableError) = %v, want %v", err, !tt.unschedulable, tt.unschedulable)
			}
		})
	}
}
