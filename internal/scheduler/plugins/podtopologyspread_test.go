package plugins

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// spreadCluster: zone a holds two db pods of version v1 (a1) and one being
// deleted (a2); zone b one db pod of version v2; zone c a db pod of
// namespace other; node x1 has no zone.
func spreadCluster() []*framework.NodeInfo {
	dbV1 := func(name string) *v1.Pod { return labelledPod(name, "default", "app", "db", "version", "v1") }
	deleting := dbV1("db-gone")
	deleting.DeletionTimestamp = &v1.Time{}
	return []*framework.NodeInfo{
		framework.NewNodeInfo(topoNode("a1", "a"), dbV1("db-0"), dbV1("db-1")),
		framework.NewNodeInfo(topoNode("a2", "a"), deleting),
		framework.NewNodeInfo(topoNode("b1", "b"), labelledPod("db-2", "default", "app", "db", "version", "v2")),
		framework.NewNodeInfo(topoNode("c1", "c"), labelledPod("db-3", "other", "app", "db")),
		framework.NewNodeInfo(topoNode("x1", "")),
	}
}

// spread is a constraint on key counting app=db pods.
func spread(key string, maxSkew int32, when v1.UnsatisfiableConstraintAction) v1.TopologySpreadConstraint {
	return v1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: when,
		LabelSelector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}
}

func spreading(p *v1.Pod, cs ...v1.TopologySpreadConstraint) *v1.Pod {
	p.Spec.TopologySpreadConstraints = cs
	return p
}

func TestPodTopologySpreadFilter(t *testing.T) {
	const (
		m       = ReasonTopologySpreadMismatch
		missing = ReasonTopologySpreadMissingLabel
		zone    = v1.LabelTopologyZone
	)
	db := func() *v1.Pod { return labelledPod("new", "default", "app", "db", "version", "v2") }
	byVersion := spread(zone, 1, v1.DoNotSchedule)
	byVersion.MatchLabelKeys = []string{"version"}
	inAOrB := db()
	inAOrB.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
		NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
			{Key: zone, Operator: v1.NodeSelectorOpIn, Values: []string{"a", "b"}}}}}}}}
	tests := []struct {
		name string
		pod  *v1.Pod
		want []string // a1, a2, b1, c1, x1
	}{
		// Zones a 2, b 1, c 0 (deleted pods and other namespaces do not
		// count); the pod adds 1; the emptiest holds 0.
		{"zone, maxSkew 1", spreading(db(), spread(zone, 1, v1.DoNotSchedule)), []string{m, m, m, "", missing}},
		{"zone, maxSkew 2", spreading(db(), spread(zone, 2, v1.DoNotSchedule)), []string{m, m, "", "", missing}},
		{"hostname", spreading(db(), spread(v1.LabelHostname, 1, v1.DoNotSchedule)), []string{m, "", m, "", ""}},
		{"a pod its selector does not select adds nothing",
			spreading(labelledPod("new", "default", "app", "web"), spread(zone, 1, v1.DoNotSchedule)), []string{m, m, "", "", missing}},
		{"matchLabelKeys count only the pod's version", spreading(db(), byVersion), []string{"", "", m, "", missing}},
		// Only zones a (2) and b (1) are eligible: the emptiest holds 1.
		{"domains only over the nodes the pod may go to",
			spreading(inAOrB, spread(zone, 1, v1.DoNotSchedule)), []string{m, m, "", "", missing}},
		{"every constraint must hold",
			spreading(db(), spread(zone, 2, v1.DoNotSchedule), spread(v1.LabelHostname, 1, v1.DoNotSchedule)), []string{m, m, m, "", missing}},
		{"ScheduleAnyway does not filter", spreading(db(), spread(zone, 1, v1.ScheduleAnyway)), []string{"", "", "", "", ""}},
		{"no constraints", db(), []string{"", "", "", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filterAll(t, &PodTopologySpread{}, tt.pod, spreadCluster()); !slices.Equal(got, tt.want) {
				t.Fatalf("reasons (a1, a2, b1, c1, x1) = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPodTopologySpreadMinDomains(t *testing.T) {
	nodes := []*framework.NodeInfo{
		framework.NewNodeInfo(topoNode("a1", "a"), labelledPod("db-0", "default", "app", "db")),
		framework.NewNodeInfo(topoNode("b1", "b"), labelledPod("db-1", "default", "app", "db")),
	}
	m := ReasonTopologySpreadMismatch
	tests := []struct {
		minDomains int32 // 0: unset
		want       []string
	}{
		{0, []string{"", ""}}, // the emptiest zone holds 1: 1+1-1 <= 1
		{2, []string{"", ""}},
		{3, []string{m, m}}, // two zones, fewer than 3: the emptiest counts as 0
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("minDomains=", tt.minDomains), func(t *testing.T) {
			c := spread(v1.LabelTopologyZone, 1, v1.DoNotSchedule)
			if tt.minDomains > 0 {
				c.MinDomains = &tt.minDomains
			}
			pod := spreading(labelledPod("new", "default", "app", "db"), c)
			if got := filterAll(t, &PodTopologySpread{}, pod, nodes); !slices.Equal(got, tt.want) {
				t.Fatalf("reasons (a1, b1) = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPodTopologySpreadScore(t *testing.T) {
	db := func(cs ...v1.TopologySpreadConstraint) *v1.Pod {
		return spreading(labelledPod("new", "default", "app", "db"), cs...)
	}
	tests := []struct {
		name string
		pod  *v1.Pod
		want []int64 // a1, a2, b1, c1, x1
	}{
		// Zones a 2, b 1, c 0, weighted by log(3 zones + 2); x1 has no
		// zone and is left out.
		{"fewer in the zone is better", db(spread(v1.LabelTopologyZone, 1, v1.ScheduleAnyway)), []int64{0, 0, 33, 100, 0}},
		{"fewer on the node is better", db(spread(v1.LabelHostname, 1, v1.ScheduleAnyway)), []int64{0, 100, 50, 100, 100}},
		{"a larger maxSkew softens the differences", db(spread(v1.LabelTopologyZone, 3, v1.ScheduleAnyway)), []int64{40, 40, 60, 100, 0}},
		{"DoNotSchedule does not score", db(spread(v1.LabelTopologyZone, 1, v1.DoNotSchedule)), []int64{100, 100, 100, 100, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scoreCycle(t, &PodTopologySpread{}, tt.pod, spreadCluster()); !slices.Equal(got, tt.want) {
				t.Fatalf("scores (a1, a2, b1, c1, x1) = %v, want %v", got, tt.want)
			}
		})
	}
}

// place schedules pod with p alone, as the Profile would (the feasible
// node with the highest score, the first by name among equals), then
// puts the pod there as the scheduler's cache does, by replacing the
// node's NodeInfo. It returns the node's name, "" when none fits.
func place(t *testing.T, p cyclePlugin, pod *v1.Pod, nodes []*framework.NodeInfo) string {
	t.Helper()
	state := preFilter(t, p, pod, nodes)
	var feasible []*framework.NodeInfo
	for _, n := range nodes {
		if p.Filter(t.Context(), state, pod, n).IsSuccess() {
			feasible = append(feasible, n)
		}
	}
	if len(feasible) == 0 {
		return ""
	}
	scores := scoreWith(t, p, state, pod, feasible)
	best := 0
	for i := range scores {
		if scores[i] > scores[best] {
			best = i
		}
	}
	name := feasible[best].Name()
	i := slices.IndexFunc(nodes, func(n *framework.NodeInfo) bool { return n.Name() == name })
	bound := *pod
	bound.Spec.NodeName = name
	nodes[i] = nodes[i].Clone()
	nodes[i].AddPod(&bound)
	return name
}

// ownedPod is pod i of the controller of kind and uid.
func ownedPod(kind, uid string, i int) *v1.Pod {
	p := labelledPod(fmt.Sprintf("%s-%d", uid, i), "default", "app", uid)
	yes := true
	p.OwnerReferences = []v1.OwnerReference{{Kind: kind, Name: uid, UID: uid, Controller: &yes}}
	return p
}

func zonesOf(names []string, nodes []*framework.NodeInfo) []string {
	var zones []string
	for _, name := range names {
		for _, n := range nodes {
			if n.Name() == name {
				zones = append(zones, n.Node.Labels[v1.LabelTopologyZone])
			}
		}
	}
	return zones
}

func TestPodTopologySpreadDefaultPetSpreading(t *testing.T) {
	zoned := func(zones ...string) []*framework.NodeInfo {
		var out []*framework.NodeInfo
		for i, z := range zones {
			out = append(out, framework.NewNodeInfo(topoNode(fmt.Sprintf("n%d", i+1), z)))
		}
		return out
	}
	ownConstraint := func(p *v1.Pod) *v1.Pod {
		c := spread(v1.LabelTopologyZone, 1, v1.ScheduleAnyway)
		c.LabelSelector.MatchLabels = map[string]string{"app": "none"} // counts no pod
		return spreading(p, c)
	}
	hostDoNotSchedule := []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: v1.LabelHostname, WhenUnsatisfiable: v1.DoNotSchedule}}
	tests := []struct {
		name   string
		plugin *PodTopologySpread
		nodes  []*framework.NodeInfo
		pod    func(i int) *v1.Pod
		want   []string
	}{
		{"3 pets, 3 nodes in 3 zones", &PodTopologySpread{}, zoned("z1", "z2", "z3"),
			func(i int) *v1.Pod { return ownedPod("PetSet", "db", i) }, []string{"n1", "n2", "n3"}},
		{"3 pets, 6 nodes in 3 zones", &PodTopologySpread{}, zoned("z1", "z1", "z2", "z2", "z3", "z3"),
			func(i int) *v1.Pod { return ownedPod("PetSet", "db", i) }, []string{"n1", "n3", "n5"}},
		{"6 pets, 6 nodes in 3 zones", &PodTopologySpread{}, zoned("z1", "z1", "z2", "z2", "z3", "z3"),
			func(i int) *v1.Pod { return ownedPod("PetSet", "db", i) }, []string{"n1", "n3", "n5", "n2", "n4", "n6"}},
		{"a StatefulSet's pets too", &PodTopologySpread{}, zoned("z1", "z2"),
			func(i int) *v1.Pod { return ownedPod("StatefulSet", "db", i) }, []string{"n1", "n2"}},
		{"without zones, over nodes", &PodTopologySpread{}, zoned("", "", ""),
			func(i int) *v1.Pod { return ownedPod("PetSet", "db", i) }, []string{"n1", "n2", "n3"}},
		{"turned off", &PodTopologySpread{DisableDefaultPetSpreading: true}, zoned("z1", "z2", "z3"),
			func(i int) *v1.Pod { return ownedPod("PetSet", "db", i) }, []string{"n1", "n1", "n1"}},
		{"a ReplicaSet's pods are not pets", &PodTopologySpread{}, zoned("z1", "z2", "z3"),
			func(i int) *v1.Pod { return ownedPod("ReplicaSet", "web", i) }, []string{"n1", "n1", "n1"}},
		{"a pet's own constraints replace the default", &PodTopologySpread{}, zoned("z1", "z2", "z3"),
			func(i int) *v1.Pod { return ownConstraint(ownedPod("PetSet", "db", i)) }, []string{"n1", "n1", "n1"}},
		{"List defaulting: the controller's pods, DoNotSchedule",
			&PodTopologySpread{Defaulting: ListDefaulting, DefaultConstraints: hostDoNotSchedule}, zoned("z1", "z1"),
			func(i int) *v1.Pod { return ownedPod("ReplicaSet", "web", i) }, []string{"n1", "n2", "n1"}},
		{"List defaulting without constraints: no pet spreading",
			&PodTopologySpread{Defaulting: ListDefaulting}, zoned("z1", "z2"),
			func(i int) *v1.Pod { return ownedPod("PetSet", "db", i) }, []string{"n1", "n1"}},
		{"List defaulting skips pods without a controller",
			&PodTopologySpread{Defaulting: ListDefaulting, DefaultConstraints: hostDoNotSchedule}, zoned("z1", "z1"),
			func(i int) *v1.Pod { return labelledPod(fmt.Sprint("loose-", i), "default") }, []string{"n1", "n1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for i := range tt.want {
				got = append(got, place(t, tt.plugin, tt.pod(i), tt.nodes))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("pods went to %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPetSpreadingNodeBeforeZone: a node without a sibling wins over a
// node in a zone with fewer siblings, however many more the first zone
// holds; with Kubernetes' log weights alone b1 would win here.
func TestPetSpreadingNodeBeforeZone(t *testing.T) {
	pet := func(i int) *v1.Pod { return ownedPod("PetSet", "db", i) }
	nodes := []*framework.NodeInfo{
		framework.NewNodeInfo(topoNode("a1", "a"), pet(0), pet(1), pet(2)),
		framework.NewNodeInfo(topoNode("a2", "a")),
		framework.NewNodeInfo(topoNode("b1", "b"), pet(3)),
	}
	if got := place(t, &PodTopologySpread{}, pet(4), nodes); got != "a2" {
		t.Fatalf("the pet went to %s, want a2", got)
	}
	if got := place(t, &PodTopologySpread{}, pet(5), nodes); got != "b1" {
		t.Fatalf("the next pet went to %s, want b1 (every node has one; zone b has fewer)", got)
	}
}

// TestPetsInAProfile runs the plugins together, as the scheduler does:
// pets that must not share a node (required anti-affinity) spread over
// nodes and zones, and the fourth of 3 nodes waits with Kubernetes' words.
func TestPetsInAProfile(t *testing.T) {
	profile, err := framework.NewProfile(
		framework.ProfilePlugin{Plugin: NodeAffinity{}},
		framework.ProfilePlugin{Plugin: &InterPodAffinity{}},
		framework.ProfilePlugin{Plugin: &PodTopologySpread{}, Weight: 2},
		framework.ProfilePlugin{Plugin: LeastAllocated{}},
	)
	if err != nil {
		t.Fatal(err)
	}
	nodes := []*framework.NodeInfo{
		framework.NewNodeInfo(topoNode("a1", "a")), framework.NewNodeInfo(topoNode("a2", "a")),
		framework.NewNodeInfo(topoNode("b1", "b")), framework.NewNodeInfo(topoNode("b2", "b")),
	}
	pet := func(i int) *v1.Pod {
		return with(ownedPod("PetSet", "db", i), requireAntiAffinity(term(v1.LabelHostname, "db")))
	}
	var got []string
	for i := range 4 {
		res, err := profile.Schedule(t.Context(), pet(i), nodes)
		if err != nil {
			t.Fatalf("pet %d: %v", i, err)
		}
		got = append(got, res.NodeName)
		k := slices.IndexFunc(nodes, func(n *framework.NodeInfo) bool { return n.Name() == res.NodeName })
		nodes[k] = nodes[k].Clone()
		nodes[k].AddPod(pet(i))
	}
	if want := []string{"a1", "b1", "a2", "b2"}; !slices.Equal(got, want) {
		t.Fatalf("pets went to %v, want %v", got, want)
	}
	if zones := zonesOf(got[:2], nodes); zones[0] == zones[1] {
		t.Fatalf("the first two pets share zone %s", zones[0])
	}
	_, err = profile.Schedule(t.Context(), pet(4), nodes)
	var fit *framework.FitError
	if !errors.As(err, &fit) || !strings.Contains(err.Error(), "4 "+ReasonPodAntiAffinityMismatch) {
		t.Fatalf("a fifth pet on four nodes: %v, want a FitError with 4 %q", err, ReasonPodAntiAffinityMismatch)
	}
}

func TestNewPodTopologySpread(t *testing.T) {
	const zoneAnyway = `{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}`
	list := func(cs ...string) string { return `{"defaultConstraints": [` + strings.Join(cs, ",") + `]}` }
	tests := []struct {
		args            string
		wantDefaulting  SpreadDefaulting
		wantConstraints int
		wantErr         string
	}{
		{"", SystemDefaulting, 0, ""},
		{`{"kind": "PodTopologySpreadArgs", "defaultingType": "System"}`, SystemDefaulting, 0, ""},
		{`{"defaultingType": "List"}`, ListDefaulting, 0, ""},
		{list(zoneAnyway), ListDefaulting, 1, ""},
		{`{"defaultingType": "Sometimes"}`, "", 0, `scheduler: PodTopologySpread args: defaultingType: must be System or List, got "Sometimes"`},
		{`{"defaultingType": "System", "defaultConstraints": [` + zoneAnyway + `]}`, "", 0,
			"scheduler: PodTopologySpread args: defaultingType: must be List when defaultConstraints are given"},
		{list(`{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}`), "", 0,
			"scheduler: PodTopologySpread args: defaultConstraints[0].maxSkew: must be positive, got 0"},
		{list(zoneAnyway, `{"maxSkew": 1, "whenUnsatisfiable": "DoNotSchedule"}`), "", 0,
			"scheduler: PodTopologySpread args: defaultConstraints[1].topologyKey: is required"},
		{list(`{"maxSkew": 1, "topologyKey": "bad key!", "whenUnsatisfiable": "DoNotSchedule"}`), "", 0,
			`defaultConstraints[0].topologyKey: "bad key!" is not a label name`},
		{list(`{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Maybe"}`), "", 0,
			`defaultConstraints[0].whenUnsatisfiable: must be DoNotSchedule or ScheduleAnyway, got "Maybe"`},
		{list(`{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {}}`), "", 0,
			"defaultConstraints[0].labelSelector: must not be set"},
		{list(`{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "matchLabelKeys": ["v"]}`), "", 0,
			"defaultConstraints[0].matchLabelKeys: must not be set"},
		{list(`{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "minDomains": 0}`), "", 0,
			"defaultConstraints[0].minDomains: must be positive, got 0"},
		{list(`{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2}`), "", 0,
			"defaultConstraints[0].minDomains: can only be used with whenUnsatisfiable DoNotSchedule"},
		{list(zoneAnyway, zoneAnyway), "", 0,
			`defaultConstraints[1].topologyKey: duplicate constraint on "topology.kubernetes.io/zone" with whenUnsatisfiable ScheduleAnyway`},
		{list(`{"maxSkew": -1, "whenUnsatisfiable": "DoNotSchedule"}`), "", 0,
			"defaultConstraints[0].maxSkew: must be positive, got -1; defaultConstraints[0].topologyKey: is required"},
		{list(`{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "nodeAffinityPolicy": "Honor"}`), "", 0,
			`unknown field "nodeAffinityPolicy"`},
		{`{"kind": "InterPodAffinityArgs"}`, "", 0, "scheduler: PodTopologySpread args: kind: "},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			p, err := NewPodTopologySpread([]byte(tt.args))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Defaulting != tt.wantDefaulting || len(p.DefaultConstraints) != tt.wantConstraints {
				t.Fatalf("got %s with %d constraints, want %s with %d", p.Defaulting, len(p.DefaultConstraints), tt.wantDefaulting, tt.wantConstraints)
			}
		})
	}
}

// TestPodTopologySpreadIndexAgreesWithScan runs the same pods through
// the owner index (the pod may go anywhere) and through the full scan
// (a required node affinity that every node satisfies), over a cluster
// that changes between cycles, and wants the same verdicts and scores.
func TestPodTopologySpreadIndexAgreesWithScan(t *testing.T) {
	anywhere := &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
		NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{
			{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpExists}}}}}}}
	minDomains := int32(4)
	list := []v1.TopologySpreadConstraint{
		{MaxSkew: 1, TopologyKey: v1.LabelHostname, WhenUnsatisfiable: v1.DoNotSchedule},
		{MaxSkew: 1, TopologyKey: v1.LabelTopologyZone, WhenUnsatisfiable: v1.DoNotSchedule, MinDomains: &minDomains},
		{MaxSkew: 2, TopologyKey: v1.LabelTopologyZone, WhenUnsatisfiable: v1.ScheduleAnyway},
	}
	tests := []struct {
		name   string
		plugin func() *PodTopologySpread
		zones  []string
		kind   string
	}{
		{"pets", func() *PodTopologySpread { return &PodTopologySpread{} }, []string{"a", "a", "b", "b", "c", "", "c"}, "PetSet"},
		{"List defaults", func() *PodTopologySpread {
			return &PodTopologySpread{Defaulting: ListDefaulting, DefaultConstraints: list}
		}, []string{"a", "a", "b", "b", "c", "c"}, "ReplicaSet"},
		// The node without a zone counts for neither DoNotSchedule
		// constraint, not even on hostname: once every other node has a
		// pod, a second one may join.
		{"List defaults, a node without a zone", func() *PodTopologySpread {
			zone := v1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: v1.LabelTopologyZone, WhenUnsatisfiable: v1.DoNotSchedule}
			return &PodTopologySpread{Defaulting: ListDefaulting, DefaultConstraints: []v1.TopologySpreadConstraint{list[0], zone, list[2]}}
		}, []string{"a", "b", "", "c"}, "ReplicaSet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nodes []*framework.NodeInfo
			for i, z := range tt.zones {
				nodes = append(nodes, framework.NewNodeInfo(topoNode(fmt.Sprintf("n%d", i), z)))
			}
			indexed, scanned := tt.plugin(), tt.plugin()
			for i := range 2 * len(nodes) {
				pod := ownedPod(tt.kind, "set", i)
				scanning := with(ownedPod(tt.kind, "set", i), anywhere)
				if a, b := filterAll(t, indexed, pod, nodes), filterAll(t, scanned, scanning, nodes); !slices.Equal(a, b) {
					t.Fatalf("pod %d: filter: indexed %q, scanned %q", i, a, b)
				}
				if a, b := scoreCycle(t, indexed, pod, nodes), scoreCycle(t, scanned, scanning, nodes); !slices.Equal(a, b) {
					t.Fatalf("pod %d: scores: indexed %v, scanned %v", i, a, b)
				}
				// With minDomains 4 over 3 zones, a zone holds at most
				// one: the later pods fit nowhere, and the cluster stays.
				place(t, indexed, pod, nodes)
			}
		})
	}
}

// BenchmarkPodTopologySpreadPet measures one pet's PreFilter and its
// Score on 500 nodes (about the nodes a cycle over 5,000 scores) in a
// cluster of 5,000 nodes in 3 zones running 50,000 pods, 100 of them its
// siblings. The snapshots vary as in BenchmarkInterPodAffinityPreFilter.
//
//	go test -run '^$' -bench BenchmarkPodTopologySpreadPet -benchmem ./internal/scheduler/plugins/
func BenchmarkPodTopologySpreadPet(b *testing.B) {
	nodes := make([]*framework.NodeInfo, 5000)
	for i := range nodes {
		var pods []*v1.Pod
		for j := range 10 {
			if k := i*10 + j; k%500 == 0 {
				pods = append(pods, ownedPod("PetSet", "db", k))
			} else {
				pods = append(pods, ownedPod("ReplicaSet", fmt.Sprint("rs-", k%97), k))
			}
		}
		nodes[i] = framework.NewNodeInfo(topoNode(fmt.Sprintf("node-%04d", i), fmt.Sprint("z", i%3)), pods...)
	}
	copies := make([]*framework.NodeInfo, len(nodes))
	for i, n := range nodes {
		copies[i] = n.Clone()
	}
	pod := ownedPod("PetSet", "db", 1)
	run := func(b *testing.B, next func(i int) []*framework.NodeInfo) {
		p := &PodTopologySpread{}
		scores := make([]framework.NodeScore, 500)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			state := framework.NewCycleState()
			snapshot := next(i)
			i++
			state.SetNodes(snapshot)
			if s := p.PreFilter(b.Context(), state, pod); !s.IsSuccess() {
				b.Fatal(s.Message())
			}
			for k := range scores {
				n := snapshot[k*10]
				v, _ := p.Score(b.Context(), state, pod, n)
				scores[k] = framework.NodeScore{Name: n.Name(), Score: v}
			}
			p.NormalizeScore(b.Context(), state, pod, scores)
		}
	}
	benchSnapshots(b, nodes, copies, run)
}
