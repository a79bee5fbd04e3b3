package plugins

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// topoNode is a ready node named name, labelled with its hostname and,
// unless zone is "", its zone.
func topoNode(name, zone string) *v1.Node {
	n := readyNode(name)
	n.Labels = map[string]string{v1.LabelHostname: name}
	if zone != "" {
		n.Labels[v1.LabelTopologyZone] = zone
	}
	return n
}

// labelledPod is a pod in namespace ns with labels given as key, value
// pairs.
func labelledPod(name, ns string, kv ...string) *v1.Pod {
	p := podWith()
	p.Name, p.Namespace, p.UID = name, ns, "uid-"+ns+"-"+name
	p.Labels = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Labels[kv[i]] = kv[i+1]
	}
	return p
}

// term selects the pods labelled app=app, in the domains of key.
func term(key, app string) v1.PodAffinityTerm {
	return v1.PodAffinityTerm{TopologyKey: key, LabelSelector: &v1.LabelSelector{MatchLabels: map[string]string{"app": app}}}
}

func weighted(w int32, t v1.PodAffinityTerm) v1.WeightedPodAffinityTerm {
	return v1.WeightedPodAffinityTerm{Weight: w, PodAffinityTerm: t}
}

func requireAffinity(terms ...v1.PodAffinityTerm) *v1.Affinity {
	return &v1.Affinity{PodAffinity: &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
}

func requireAntiAffinity(terms ...v1.PodAffinityTerm) *v1.Affinity {
	return &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
}

func preferAffinity(terms ...v1.WeightedPodAffinityTerm) *v1.Affinity {
	return &v1.Affinity{PodAffinity: &v1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: terms}}
}

func preferAntiAffinity(terms ...v1.WeightedPodAffinityTerm) *v1.Affinity {
	return &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: terms}}
}

func with(p *v1.Pod, a *v1.Affinity) *v1.Pod {
	p.Spec.Affinity = a
	return p
}

// cyclePlugin is a plugin with a PreFilter, as the Profile runs it.
type cyclePlugin interface {
	framework.PreFilterPlugin
	framework.FilterPlugin
	framework.ScorePlugin
}

// preFilter runs p's PreFilter over nodes and returns the cycle's state.
func preFilter(t *testing.T, p framework.PreFilterPlugin, pod *v1.Pod, nodes []*framework.NodeInfo) *framework.CycleState {
	t.Helper()
	state := framework.NewCycleState()
	state.SetNodes(nodes)
	if s := p.PreFilter(t.Context(), state, pod); !s.IsSuccess() {
		t.Fatalf("PreFilter: %s %s", s.Code(), s.Message())
	}
	return state
}

// filterAll returns each node's rejection reasons, "" for a node that
// fits.
func filterAll(t *testing.T, p cyclePlugin, pod *v1.Pod, nodes []*framework.NodeInfo) []string {
	t.Helper()
	state := preFilter(t, p, pod, nodes)
	out := make([]string, len(nodes))
	for i, n := range nodes {
		s := p.Filter(t.Context(), state, pod, n)
		if s.Code() != framework.Success && s.Code() != framework.Unschedulable {
			t.Fatalf("Filter(%s): %s %s", n.Name(), s.Code(), s.Message())
		}
		out[i] = s.Message()
	}
	return out
}

// scoreCycle runs PreFilter, then Score and NormalizeScore on nodes.
func scoreCycle(t *testing.T, p cyclePlugin, pod *v1.Pod, nodes []*framework.NodeInfo) []int64 {
	t.Helper()
	state := preFilter(t, p, pod, nodes)
	return scoreWith(t, p, state, pod, nodes)
}

func scoreWith(t *testing.T, p cyclePlugin, state *framework.CycleState, pod *v1.Pod, nodes []*framework.NodeInfo) []int64 {
	t.Helper()
	scores := make([]framework.NodeScore, len(nodes))
	for i, n := range nodes {
		v, s := p.Score(t.Context(), state, pod, n)
		if !s.IsSuccess() {
			t.Fatalf("Score(%s): %s", n.Name(), s.Message())
		}
		scores[i] = framework.NodeScore{Name: n.Name(), Score: v}
	}
	if s := p.(framework.ScoreNormalizer).NormalizeScore(t.Context(), state, pod, scores); !s.IsSuccess() {
		t.Fatalf("NormalizeScore: %s", s.Message())
	}
	out := make([]int64, len(scores))
	for i, s := range scores {
		if s.Score < framework.MinNodeScore || s.Score > framework.MaxNodeScore {
			t.Fatalf("node %s scored %d, outside the range", s.Name, s.Score)
		}
		out[i] = s.Score
	}
	return out
}

// affinityCluster: zone a holds a db pod (on a1) and a2; zone b a web pod
// whose required anti-affinity keeps cache pods out of zone b; zone c a
// db pod of namespace other; node bare has no zone.
func affinityCluster() []*framework.NodeInfo {
	web := with(labelledPod("web-0", "default", "app", "web"), requireAntiAffinity(term(v1.LabelTopologyZone, "cache")))
	return []*framework.NodeInfo{
		framework.NewNodeInfo(topoNode("a1", "a"), labelledPod("db-0", "default", "app", "db")),
		framework.NewNodeInfo(topoNode("a2", "a")),
		framework.NewNodeInfo(topoNode("b1", "b"), web),
		framework.NewNodeInfo(topoNode("bare", "")),
		framework.NewNodeInfo(topoNode("c1", "c"), labelledPod("db-1", "other", "app", "db")),
	}
}

func TestInterPodAffinityFilter(t *testing.T) {
	const (
		aff      = ReasonPodAffinityMismatch
		anti     = ReasonPodAntiAffinityMismatch
		existing = ReasonExistingPodsAntiAffinityMismatch
		zone     = v1.LabelTopologyZone
	)
	inOther := term(zone, "db")
	inOther.Namespaces = []string{"other"}
	everywhere := term(zone, "db")
	everywhere.NamespaceSelector = &v1.LabelSelector{}
	teamX := term(zone, "db")
	teamX.NamespaceSelector = &v1.LabelSelector{MatchLabels: map[string]string{"team": "x"}}
	nilSelector := v1.PodAffinityTerm{TopologyKey: zone}
	self := labelledPod("new", "default", "app", "cluster")
	tests := []struct {
		name   string
		pod    *v1.Pod
		plugin *InterPodAffinity
		want   []string // a1, a2, b1, bare, c1
	}{
		{"no terms", labelledPod("new", "default", "app", "x"), nil, []string{"", "", "", "", ""}},
		{"affinity: the zone with a db pod; no zone label fails",
			with(labelledPod("new", "default"), requireAffinity(term(zone, "db"))), nil, []string{"", "", aff, aff, aff}},
		{"affinity: the node with a db pod",
			with(labelledPod("new", "default"), requireAffinity(term(v1.LabelHostname, "db"))), nil, []string{"", aff, aff, aff, aff}},
		{"affinity: namespaces",
			with(labelledPod("new", "default"), requireAffinity(inOther)), nil, []string{aff, aff, aff, aff, ""}},
		{"affinity: namespaceSelector {} is every namespace",
			with(labelledPod("new", "default"), requireAffinity(everywhere)), nil, []string{"", "", aff, aff, ""}},
		{"affinity: namespaceSelector without namespace labels selects none",
			with(labelledPod("new", "default", "app", "db"), requireAffinity(teamX)), nil, []string{aff, aff, aff, aff, aff}},
		{"affinity: namespaceSelector with namespace labels",
			with(labelledPod("new", "default"), requireAffinity(teamX)),
			&InterPodAffinity{NamespaceLabels: func(ns string) (map[string]string, bool) {
				return map[string]string{"team": map[string]string{"other": "x"}[ns]}, true
			}},
			[]string{aff, aff, aff, aff, ""}},
		{"affinity: every term must hold",
			with(labelledPod("new", "default"), requireAffinity(term(zone, "db"), term(zone, "web"))), nil, []string{aff, aff, aff, aff, aff}},
		{"affinity: a nil selector selects nothing",
			with(labelledPod("new", "default"), requireAffinity(nilSelector)), nil, []string{aff, aff, aff, aff, aff}},
		{"first pod of a group that selects itself goes anywhere with the key",
			with(self, requireAffinity(term(zone, "cluster"))), nil, []string{"", "", "", aff, ""}},
		{"a pod its own term does not select waits",
			with(labelledPod("new", "default", "app", "x"), requireAffinity(term(zone, "cluster"))), nil, []string{aff, aff, aff, aff, aff}},
		{"anti-affinity: not in the zone of a db pod",
			with(labelledPod("new", "default"), requireAntiAffinity(term(zone, "db"))), nil, []string{anti, anti, "", "", ""}},
		{"anti-affinity: not on the node of a db pod",
			with(labelledPod("new", "default"), requireAntiAffinity(term(v1.LabelHostname, "db"))), nil, []string{anti, "", "", "", ""}},
		{"existing pods' anti-affinity keeps a cache pod out of zone b",
			labelledPod("new", "default", "app", "cache"), nil, []string{"", "", existing, "", ""}},
		{"existing pods' anti-affinity counts only its namespace",
			labelledPod("new", "other", "app", "cache"), nil, []string{"", "", "", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.plugin
			if p == nil {
				p = &InterPodAffinity{}
			}
			if got := filterAll(t, p, tt.pod, affinityCluster()); !slices.Equal(got, tt.want) {
				t.Fatalf("reasons (a1, a2, b1, bare, c1) = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInterPodAffinityScore(t *testing.T) {
	zone, host := v1.LabelTopologyZone, v1.LabelHostname
	// a1 runs db and a pod that wants to be near cache pods (required);
	// b1 runs web, which prefers cache pods in its zone; c1 runs a
	// batch pod that prefers cache pods elsewhere.
	cluster := func() []*framework.NodeInfo {
		nearCache := with(labelledPod("near", "default", "app", "near"), requireAffinity(term(host, "cache")))
		web := with(labelledPod("web-0", "default", "app", "web"), preferAffinity(weighted(50, term(zone, "cache"))))
		batch := with(labelledPod("batch", "default", "app", "batch"), preferAntiAffinity(weighted(30, term(zone, "cache"))))
		return []*framework.NodeInfo{
			framework.NewNodeInfo(topoNode("a1", "a"), labelledPod("db-0", "default", "app", "db"), nearCache),
			framework.NewNodeInfo(topoNode("a2", "a")),
			framework.NewNodeInfo(topoNode("b1", "b"), web),
			framework.NewNodeInfo(topoNode("c1", "c"), batch),
		}
	}
	weight := func(w int32) *int32 { return &w }
	tests := []struct {
		name   string
		plugin *InterPodAffinity
		pod    *v1.Pod
		want   []int64 // a1, a2, b1, c1
	}{
		{"preferred affinity: the db zone wins",
			nil, with(labelledPod("new", "default"), preferAffinity(weighted(10, term(zone, "db")))), []int64{100, 100, 0, 0}},
		{"preferred anti-affinity: the db zone loses",
			nil, with(labelledPod("new", "default"), preferAntiAffinity(weighted(10, term(zone, "db")))), []int64{0, 0, 100, 100}},
		{"weights add per domain: db's node 80, web's zone 20",
			nil, with(labelledPod("new", "default"), preferAffinity(weighted(80, term(host, "db")), weighted(20, term(zone, "web")))),
			[]int64{100, 0, 25, 0}},
		// A cache pod: web's preferred term +50 in zone b, batch's
		// preferred anti-affinity -30 in zone c, near's required
		// affinity +1 (the hard weight) on a1; 0 elsewhere. Min-max over
		// -30..50.
		{"existing pods' terms that select the pod weigh their domains",
			nil, labelledPod("new", "default", "app", "cache"), []int64{38, 37, 100, 0}},
		{"hard pod affinity weight",
			&InterPodAffinity{HardPodAffinityWeight: weight(100)}, labelledPod("new", "default", "app", "cache"), []int64{100, 23, 61, 0}},
		{"hard pod affinity weight 0 turns it off",
			&InterPodAffinity{HardPodAffinityWeight: weight(0)}, labelledPod("new", "default", "app", "cache"), []int64{37, 37, 100, 0}},
		{"nothing selected: all equal", nil, labelledPod("new", "default", "app", "other"), []int64{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.plugin
			if p == nil {
				p = &InterPodAffinity{}
			}
			if got := scoreCycle(t, p, tt.pod, cluster()); !slices.Equal(got, tt.want) {
				t.Fatalf("scores (a1, a2, b1, c1) = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestInterPodAffinityIndex checks that the index of pods with terms
// follows the snapshots: a NodeInfo replaced (copy-on-write, as the
// scheduler's cache does), a node added, a node removed.
func TestInterPodAffinityIndex(t *testing.T) {
	p := &InterPodAffinity{}
	pod := labelledPod("new", "default", "app", "db")
	nodes := []*framework.NodeInfo{framework.NewNodeInfo(topoNode("a1", "a")), framework.NewNodeInfo(topoNode("b1", "b"))}
	state := preFilter(t, p, pod, nodes)
	if s, _ := framework.ReadAs[*affinityState](state, interPodAffinityStateKey); s != nil {
		t.Fatalf("a cluster without terms: state %+v, want nil (nothing to do)", s)
	}
	loner := with(labelledPod("loner", "default", "app", "loner"), requireAntiAffinity(term(v1.LabelTopologyZone, "db")))
	changed := nodes[1].Clone()
	changed.AddPod(loner)
	nodes = []*framework.NodeInfo{nodes[0], changed}
	if got, want := filterAll(t, p, pod, nodes), []string{"", ReasonExistingPodsAntiAffinityMismatch}; !slices.Equal(got, want) {
		t.Fatalf("after b1 changed: %q, want %q", got, want)
	}
	nodes = append([]*framework.NodeInfo{framework.NewNodeInfo(topoNode("a0", "c"))}, nodes...)
	if got, want := filterAll(t, p, pod, nodes), []string{"", "", ReasonExistingPodsAntiAffinityMismatch}; !slices.Equal(got, want) {
		t.Fatalf("after a node was added: %q, want %q", got, want)
	}
	nodes = nodes[:2]
	if got, want := filterAll(t, p, pod, nodes), []string{"", ""}; !slices.Equal(got, want) {
		t.Fatalf("after b1 was removed: %q, want %q", got, want)
	}
}

func TestInterPodAffinityNeedsPreFilter(t *testing.T) {
	p := &InterPodAffinity{}
	n := framework.NewNodeInfo(topoNode("a1", "a"))
	if s := p.Filter(t.Context(), framework.NewCycleState(), podWith(), n); s.Code() != framework.Error {
		t.Fatalf("Filter without PreFilter: %s, want Error", s.Code())
	}
}

func TestNewInterPodAffinity(t *testing.T) {
	tests := []struct {
		args    string
		want    int64
		wantErr string
	}{
		{"", 1, ""},
		{"null", 1, ""},
		{`{}`, 1, ""},
		{`{"hardPodAffinityWeight": 0}`, 0, ""},
		{`{"kind": "InterPodAffinityArgs", "hardPodAffinityWeight": 100}`, 100, ""},
		{`{"hardPodAffinityWeight": 101}`, 0, "scheduler: InterPodAffinity args: hardPodAffinityWeight: must be in the range 0-100, got 101"},
		{`{"hardPodAffinityWeight": -1}`, 0, "scheduler: InterPodAffinity args: hardPodAffinityWeight: must be in the range 0-100, got -1"},
		{`{"ignorePreferredTermsOfExistingPods": true}`, 0, `unknown field "ignorePreferredTermsOfExistingPods"`},
		{`{"hardPodAffinityWeight": "high"}`, 0, "scheduler: InterPodAffinity args: "},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			p, err := NewInterPodAffinity([]byte(tt.args))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.hardWeight(); got != tt.want {
				t.Fatalf("hard pod affinity weight = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSelectorMatches(t *testing.T) {
	labels := map[string]string{"app": "db", "tier": "backend"}
	expr := func(key string, op v1.LabelSelectorOperator, values ...string) *v1.LabelSelector {
		return &v1.LabelSelector{MatchExpressions: []v1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
	}
	tests := []struct {
		name string
		sel  *v1.LabelSelector
		want bool
	}{
		{"nil selects nothing", nil, false},
		{"empty selects everything", &v1.LabelSelector{}, true},
		{"matchLabels", &v1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, true},
		{"matchLabels differ", &v1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, false},
		{"In", expr("tier", v1.LabelSelectorOpIn, "frontend", "backend"), true},
		{"In, label missing", expr("zone", v1.LabelSelectorOpIn, "a"), false},
		{"NotIn", expr("tier", v1.LabelSelectorOpNotIn, "backend"), false},
		{"NotIn, label missing", expr("zone", v1.LabelSelectorOpNotIn, "a"), true},
		{"Exists", expr("app", v1.LabelSelectorOpExists), true},
		{"DoesNotExist", expr("app", v1.LabelSelectorOpDoesNotExist), false},
		{"unknown operator", expr("app", "Like", "db"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := selectorMatches(tt.sel, labels); got != tt.want {
				t.Fatalf("selectorMatches = %v, want %v", got, tt.want)
			}
			if tt.sel != nil && tt.sel.Matches(labels) != tt.want {
				t.Fatalf("v1.LabelSelector.Matches disagrees")
			}
		})
	}
}

// BenchmarkInterPodAffinityPreFilter measures PreFilter for a pod without
// terms over 5,000 nodes that run 10 pods each, none with terms: the
// cycle that must cost next to nothing. "unchanged" repeats one snapshot;
// "one node changed" replaces a NodeInfo each cycle, as the scheduler's
// cache does when it assumes the last pod; "cold" gives every node a new
// NodeInfo each cycle (the first cycle, or after a node joins). The last
// two measure a pod with a required anti-affinity term, which PreFilter
// matches against every pod, and a pod without terms in a cluster where
// every pod has one.
//
//	go test -run '^$' -bench BenchmarkInterPodAffinityPreFilter -benchmem ./internal/scheduler/plugins/
func BenchmarkInterPodAffinityPreFilter(b *testing.B) {
	nodes := make([]*framework.NodeInfo, 5000)
	for i := range nodes {
		var pods []*v1.Pod
		for j := range 10 {
			pods = append(pods, labelledPod(fmt.Sprintf("p-%d-%d", i, j), "default", "app", fmt.Sprint("a", j)))
		}
		nodes[i] = framework.NewNodeInfo(topoNode(fmt.Sprintf("node-%04d", i), fmt.Sprint("z", i%3)), pods...)
	}
	copies := make([]*framework.NodeInfo, len(nodes))
	for i, n := range nodes {
		copies[i] = n.Clone()
	}
	pod := labelledPod("new", "default", "app", "new")
	run := func(b *testing.B, next func(i int) []*framework.NodeInfo) {
		p := &InterPodAffinity{}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			state := framework.NewCycleState()
			state.SetNodes(next(i))
			i++
			if s := p.PreFilter(b.Context(), state, pod); !s.IsSuccess() {
				b.Fatal(s.Message())
			}
		}
	}
	benchSnapshots(b, nodes, copies, run)
	// A pet that must not share a node with its siblings: its own term
	// is matched against every pod of the cluster.
	pod = with(ownedPod("PetSet", "db", 0), requireAntiAffinity(term(v1.LabelHostname, "db")))
	b.Run("pod with anti-affinity", func(b *testing.B) {
		run(b, func(int) []*framework.NodeInfo { return nodes })
	})
	// Every pod of the cluster has a required anti-affinity term, which
	// PreFilter matches against the incoming pod, without terms.
	for i, n := range nodes {
		var pods []*v1.Pod
		for _, p := range n.Pods {
			pods = append(pods, with(labelledPod(p.Name, p.Namespace, "app", p.Labels["app"]), requireAntiAffinity(term(v1.LabelHostname, p.Labels["app"]))))
		}
		nodes[i] = framework.NewNodeInfo(n.Node, pods...)
	}
	pod = labelledPod("new", "default", "app", "new")
	b.Run("every pod with anti-affinity", func(b *testing.B) {
		run(b, func(int) []*framework.NodeInfo { return nodes })
	})
}
