package plugins

import (
	"slices"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

func TestTolerates(t *testing.T) {
	taint := v1.Taint{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}
	tests := []struct {
		name string
		tol  v1.Toleration
		want bool
	}{
		{"equal key and value", v1.Toleration{Key: "dedicated", Value: "db"}, true},
		{"equal, explicit operator and effect", v1.Toleration{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "db", Effect: v1.TaintEffectNoSchedule}, true},
		{"other value", v1.Toleration{Key: "dedicated", Value: "web"}, false},
		{"exists on key", v1.Toleration{Key: "dedicated", Operator: v1.TolerationOpExists}, true},
		{"exists on other key", v1.Toleration{Key: "gpu", Operator: v1.TolerationOpExists}, false},
		{"empty key exists: everything", v1.Toleration{Operator: v1.TolerationOpExists}, true},
		{"other effect", v1.Toleration{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoExecute}, false},
		{"unknown operator", v1.Toleration{Key: "dedicated", Operator: "Like", Value: "db"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := v1.ToleratesTaint([]v1.Toleration{tt.tol}, &taint); got != tt.want {
				t.Fatalf("tolerates = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTaintTolerationFilter(t *testing.T) {
	tainted := func(ts ...v1.Taint) *v1.Node {
		n := readyNode("n")
		n.Spec.Taints = ts
		return n
	}
	db := v1.Taint{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}
	evict := v1.Taint{Key: "maintenance", Effect: v1.TaintEffectNoExecute}
	soft := v1.Taint{Key: "spot", Value: "true", Effect: v1.TaintEffectPreferNoSchedule}
	tests := []struct {
		name string
		node *v1.Node
		tols []v1.Toleration
		want []string
	}{
		{"no taints", tainted(), nil, nil},
		{"NoSchedule untolerated", tainted(db), nil, []string{"node(s) had untolerated taint {dedicated: db}"}},
		{"NoSchedule tolerated", tainted(db), []v1.Toleration{{Key: "dedicated", Value: "db"}}, nil},
		{"NoExecute untolerated, empty value", tainted(db, evict), []v1.Toleration{{Key: "dedicated", Value: "db"}},
			[]string{"node(s) had untolerated taint {maintenance: }"}},
		{"PreferNoSchedule never filters", tainted(soft), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := podWith()
			pod.Spec.Tolerations = tt.tols
			checkStatus(t, runFilter(t, TaintToleration{}, pod, framework.NewNodeInfo(tt.node)), tt.want)
		})
	}
}

func TestTaintTolerationScore(t *testing.T) {
	soft := func(keys ...string) *framework.NodeInfo {
		n := readyNode("n" + string(rune('a'+len(keys))))
		for _, k := range keys {
			n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: k, Effect: v1.TaintEffectPreferNoSchedule})
		}
		n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: "hard", Effect: v1.TaintEffectNoSchedule})
		return framework.NewNodeInfo(n)
	}
	nodes := []*framework.NodeInfo{soft(), soft("spot"), soft("spot", "old")}
	tests := []struct {
		name string
		tols []v1.Toleration
		want []int64
	}{
		{"fewer untolerated is better", nil, []int64{100, 50, 0}},
		{"tolerated taints do not count", []v1.Toleration{{Key: "spot", Operator: v1.TolerationOpExists}}, []int64{100, 100, 0}},
		{"NoSchedule tolerations do not count", []v1.Toleration{{Key: "spot", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}, []int64{100, 50, 0}},
		{"all tolerated: all best", []v1.Toleration{{Operator: v1.TolerationOpExists}}, []int64{100, 100, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := podWith()
			pod.Spec.Tolerations = tt.tols
			if got := scoreAll(t, TaintToleration{}, pod, nodes); !slices.Equal(got, tt.want) {
				t.Fatalf("scores = %v, want %v", got, tt.want)
			}
		})
	}
}

// scoreAll scores nodes with p and normalizes as the Profile does.
func scoreAll(t *testing.T, p framework.ScorePlugin, pod *v1.Pod, nodes []*framework.NodeInfo) []int64 {
	t.Helper()
	state := framework.NewCycleState()
	scores := make([]framework.NodeScore, len(nodes))
	for i, n := range nodes {
		v, s := p.Score(t.Context(), state, pod, n)
		if !s.IsSuccess() {
			t.Fatalf("Score(%s): %s", n.Name(), s.Message())
		}
		scores[i] = framework.NodeScore{Name: n.Name(), Score: v}
	}
	if norm, ok := p.(framework.ScoreNormalizer); ok {
		if s := norm.NormalizeScore(t.Context(), state, pod, scores); !s.IsSuccess() {
			t.Fatalf("NormalizeScore: %s", s.Message())
		}
	}
	out := make([]int64, len(scores))
	for i, s := range scores {
		out[i] = s.Score
	}
	return out
}
