package plugins

import (
	"encoding/json"
	"slices"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

const bandwidth = v1.ResourceNetworkBandwidth

func TestNetworkBandwidthFilter(t *testing.T) {
	gig := allocNode("n", "cpu", "4", "memory", "8Gi", "pods", "10", bandwidth, "1G")
	none := allocNode("n", "cpu", "4", "memory", "8Gi", "pods", "10")
	existing := podWith(bandwidth, "600M")
	initHeavy := podWith(bandwidth, "100M")
	initHeavy.Spec.InitContainers = []v1.Container{{Name: "init", Command: []string{"x"},
		Resources: v1.ResourceRequirements{Requests: resources(bandwidth, "500M")}}}
	insufficient := []string{InsufficientReason(bandwidth)}
	tests := []struct {
		name string
		pod  *v1.Pod
		node *v1.Node
		pods []*v1.Pod
		want []string
	}{
		{"fits what is left", podWith(bandwidth, "400M"), gig, []*v1.Pod{existing}, nil},
		{"more than is left", podWith(bandwidth, "401M"), gig, []*v1.Pod{existing}, insufficient},
		{"more than the node has", podWith(bandwidth, "2G"), gig, nil, insufficient},
		{"a pod that requests none fits a full node", podWith("cpu", "1"), gig, []*v1.Pod{podWith(bandwidth, "1G")}, nil},
		{"a node that advertises none fits a pod that requests none", podWith("cpu", "1"), none, nil, nil},
		{"a node that advertises none has none", podWith(bandwidth, "1"), none, nil, insufficient},
		{"an init container's request counts", initHeavy, gig, []*v1.Pod{existing}, insufficient},
		{"a node not known yet has none", podWith(bandwidth, "1"), nil, nil, insufficient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := framework.NewNodeInfo(tt.node, tt.pods...)
			checkStatus(t, runFilter(t, NetworkBandwidth{}, tt.pod, n), tt.want)
			// NodeResourcesFit checks the same resource with the same
			// words (it also counts pods and cpu, which these cases
			// leave room for, except on the unknown node).
			if tt.node != nil {
				checkStatus(t, runFilter(t, NodeResourcesFit{}, tt.pod, n), tt.want)
			}
		})
	}
}

// ownedBy makes pod a pod of the controller with UID owner.
func ownedBy(pod *v1.Pod, name, owner string) *v1.Pod {
	controller := true
	pod.Name = name
	pod.OwnerReferences = []v1.OwnerReference{{APIVersion: "kennel.io/v1", Kind: "PetSet", Name: "db", UID: owner, Controller: &controller}}
	return pod
}

// zoneNode is a node in zone ("" for none) with 10G of bandwidth.
func zoneNode(name, zone string) *v1.Node {
	n := allocNode(name, "cpu", "4", "memory", "8Gi", "pods", "10", bandwidth, "10G")
	if zone != "" {
		n.Labels = map[string]string{v1.LabelTopologyZone: zone}
	}
	return n
}

// runNetworkScores runs the plugin over a cycle whose nodes are all,
// scoring those named in scored, as the Profile does.
func runNetworkScores(t *testing.T, pl NetworkBandwidth, pod *v1.Pod, all []*framework.NodeInfo, scored ...string) []int64 {
	t.Helper()
	state := framework.NewCycleState()
	state.SetNodes(all)
	if s := pl.PreFilter(t.Context(), state, pod); !s.IsSuccess() {
		t.Fatalf("PreFilter: %s", s.Message())
	}
	var scores []framework.NodeScore
	for _, n := range all {
		if !slices.Contains(scored, n.Name()) {
			continue
		}
		v, s := pl.Score(t.Context(), state, pod, n)
		if !s.IsSuccess() {
			t.Fatalf("Score(%s): %s", n.Name(), s.Message())
		}
		scores = append(scores, framework.NodeScore{Name: n.Name(), Score: v})
	}
	if s := pl.NormalizeScore(t.Context(), state, pod, scores); !s.IsSuccess() {
		t.Fatalf("NormalizeScore: %s", s.Message())
	}
	out := make([]int64, len(scores))
	for i, s := range scores {
		out[i] = s.Score
	}
	return out
}

func TestNetworkBandwidthScore(t *testing.T) {
	peer := func(name string) *v1.Pod { return ownedBy(podWith(bandwidth, "1G"), name, "set-1") }
	stranger := ownedBy(podWith(bandwidth, "3G"), "stranger", "set-2")
	// Peers: 2 in zone a (on a1), 1 in zone b, 1 on a node without a
	// zone: zone a holds 50%, b 25%, c none. Free bandwidth once a 1G
	// pod is placed: a1 7G, a2 9G, b1 8G, c1 6G, c2 9G, nz 8G.
	all := []*framework.NodeInfo{
		framework.NewNodeInfo(zoneNode("a1", "a"), peer("p0"), peer("p1")),
		framework.NewNodeInfo(zoneNode("a2", "a")),
		framework.NewNodeInfo(zoneNode("b1", "b"), peer("p2")),
		framework.NewNodeInfo(zoneNode("c1", "c"), stranger),
		framework.NewNodeInfo(zoneNode("c2", "c")),
		framework.NewNodeInfo(zoneNode("nz", ""), peer("p3")),
	}
	names := []string{"a1", "a2", "b1", "c1", "c2", "nz"}
	preferring := NetworkBandwidth{preferPeersZone: true}
	tests := []struct {
		name   string
		plugin NetworkBandwidth
		pod    *v1.Pod
		scored []string
		want   []int64
	}{
		{
			// The share in percent; of a1 and a2 (50%) a2 has more
			// bandwidth free and keeps 50; of c1, c2 and nz (0%) none
			// can go lower.
			name: "peers' zone first, free bandwidth breaks ties", plugin: preferring,
			pod: peer("new"), scored: names, want: []int64{49, 50, 25, 0, 0, 0},
		},
		{
			name: "off by default: the most free bandwidth wins", plugin: NetworkBandwidth{},
			pod: peer("new"), scored: names, want: []int64{70, 90, 80, 60, 90, 80},
		},
		{
			name: "a pod without a controller has no peers: free bandwidth", plugin: preferring,
			pod: podWith(bandwidth, "1G"), scored: names, want: []int64{70, 90, 80, 60, 90, 80},
		},
		{
			name: "a pod whose peers are not placed yet: free bandwidth", plugin: preferring,
			pod: ownedBy(podWith(bandwidth, "1G"), "lonely", "set-3"), scored: names, want: []int64{70, 90, 80, 60, 90, 80},
		},
		{
			// a1 and a2 were filtered out; their peers still count, as
			// the share of all peers.
			name: "peers on nodes that are not scored still count", plugin: preferring,
			pod: peer("new"), scored: []string{"b1", "c2"}, want: []int64{25, 0},
		},
		{
			// A pod that requests none leaves a1 with 8G free of 10G,
			// still less than a2's 10G.
			name: "a pod that requests no bandwidth", plugin: preferring,
			pod: ownedBy(podWith("cpu", "1"), "new", "set-1"), scored: []string{"a1", "a2", "b1"}, want: []int64{49, 50, 25},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runNetworkScores(t, tt.plugin, tt.pod, all, tt.scored...); !slices.Equal(got, tt.want) {
				t.Fatalf("scores of %v = %v, want %v", tt.scored, got, tt.want)
			}
		})
	}
}

func TestNetworkBandwidthScoreWithoutBandwidth(t *testing.T) {
	all := []*framework.NodeInfo{
		framework.NewNodeInfo(allocNode("none", "cpu", "4", "pods", "10")),
		framework.NewNodeInfo(zoneNode("some", "")),
	}
	if got := runNetworkScores(t, NetworkBandwidth{}, podWith(), all, "none", "some"); !slices.Equal(got, []int64{0, 100}) {
		t.Fatalf("scores = %v, want [0 100]: a node without bandwidth has none free", got)
	}
}

func TestNewNetworkBandwidth(t *testing.T) {
	for _, tt := range []struct {
		args string
		want bool
	}{{``, false}, {`{}`, false}, {`{"preferPeersZone":false}`, false}, {`{"preferPeersZone":true}`, true}} {
		pl, err := NewNetworkBandwidth(json.RawMessage(tt.args))
		if err != nil || pl.preferPeersZone != tt.want {
			t.Fatalf("NewNetworkBandwidth(%s) = %v, %v; want preferPeersZone %v", tt.args, pl, err, tt.want)
		}
	}
	for _, tt := range []struct{ args, want string }{
		{`{"preferPeerZone":true}`, `scheduler: NetworkBandwidth args: json: unknown field "preferPeerZone"`},
		{`{"preferPeersZone":"yes"}`, `scheduler: NetworkBandwidth args: json: cannot unmarshal string into Go struct field NetworkBandwidthArgs.preferPeersZone of type bool`},
	} {
		if _, err := NewNetworkBandwidth(json.RawMessage(tt.args)); err == nil || err.Error() != tt.want {
			t.Fatalf("NewNetworkBandwidth(%s) error = %v, want %q", tt.args, err, tt.want)
		}
	}
}
