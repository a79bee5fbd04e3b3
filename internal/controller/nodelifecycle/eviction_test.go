package nodelifecycle

import (
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func seconds(n int64) *int64 { return &n }

func TestTolerationTime(t *testing.T) {
	unreachable := v1.Taint{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute}
	def := 30 * time.Second
	tests := []struct {
		name        string
		tolerations []v1.Toleration
		want        time.Duration
		forever     bool
	}{
		{"no toleration waits the default", nil, def, false},
		{"other key waits the default", []v1.Toleration{{Key: "other", Operator: v1.TolerationOpExists}}, def, false},
		{"other effect waits the default", []v1.Toleration{{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}, def, false},
		{"exists without seconds is for ever", []v1.Toleration{{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute}}, 0, true},
		{"empty key with exists matches every taint", []v1.Toleration{{Operator: v1.TolerationOpExists}}, 0, true},
		{"seconds bound the stay", []v1.Toleration{{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, TolerationSeconds: seconds(5)}}, 5 * time.Second, false},
		{"the shortest matching toleration wins", []v1.Toleration{
			{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists},
			{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, TolerationSeconds: seconds(300)},
			{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, TolerationSeconds: seconds(60)},
		}, 60 * time.Second, false},
		{"negative seconds mean at once", []v1.Toleration{{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpExists, TolerationSeconds: seconds(-3)}}, 0, false},
		{"equal needs the value", []v1.Toleration{{Key: v1.TaintNodeUnreachable, Operator: v1.TolerationOpEqual, Value: "x"}}, def, false},
		{"equal with the empty value matches", []v1.Toleration{{Key: v1.TaintNodeUnreachable, Value: ""}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, forever := tolerationTime(tt.tolerations, unreachable, def)
			if got != tt.want || forever != tt.forever {
				t.Errorf("tolerationTime = %v, forever %v; want %v, forever %v", got, forever, tt.want, tt.forever)
			}
		})
	}
}

func TestEvictionTimeTakesTheEarliestTaint(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	node := &v1.Node{Spec: v1.NodeSpec{Taints: []v1.Taint{
		{Key: "user", Effect: v1.TaintEffectNoExecute, TimeAdded: v1.NewTime(t0)},
		{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoExecute, TimeAdded: v1.NewTime(t0)},
		{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute, TimeAdded: v1.NewTime(t0.Add(time.Minute))},
	}}}
	pod := &v1.Pod{Spec: v1.PodSpec{Tolerations: []v1.Toleration{
		{Key: v1.TaintNodeNotReady, Operator: v1.TolerationOpExists, TolerationSeconds: seconds(100)},
	}}}
	at, why, ok := evictionTime(pod, node, 30*time.Second)
	// not-ready: t0+100s; unreachable (untolerated): t0+60s+30s.
	if !ok || !at.Equal(t0.Add(90*time.Second)) || why.Key != v1.TaintNodeUnreachable {
		t.Fatalf("evictionTime = %v, %s, %v; want t0+90s because of unreachable", at, why.Key, ok)
	}
	pod.Spec.Tolerations = []v1.Toleration{{Operator: v1.TolerationOpExists}}
	if _, _, ok := evictionTime(pod, node, 30*time.Second); ok {
		t.Error("a pod tolerating everything for ever has an eviction time")
	}
	unstamped := &v1.Node{Spec: v1.NodeSpec{Taints: []v1.Taint{{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute}}}}
	if _, _, ok := evictionTime(&v1.Pod{}, unstamped, time.Second); ok {
		t.Error("eviction time counted from a taint without timeAdded")
	}
}

func TestReplaceEvictionTaint(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	earlier := v1.NewTime(t0.Add(-time.Hour))
	user := v1.Taint{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}
	tests := []struct {
		name         string
		taints       []v1.Taint
		want         string
		wantTaints   []v1.Taint
		added, remov int
	}{
		{"adds with time", []v1.Taint{user}, v1.TaintNodeUnreachable,
			[]v1.Taint{user, {Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute, TimeAdded: v1.NewTime(t0)}}, 1, 0},
		{"keeps the first time", []v1.Taint{{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute, TimeAdded: earlier}}, v1.TaintNodeUnreachable,
			[]v1.Taint{{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute, TimeAdded: earlier}}, 0, 0},
		{"stamps a taint without time", []v1.Taint{{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoExecute}}, v1.TaintNodeNotReady,
			[]v1.Taint{{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoExecute, TimeAdded: v1.NewTime(t0)}}, 1, 0},
		{"swaps not-ready for unreachable", []v1.Taint{{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoExecute, TimeAdded: earlier}, user}, v1.TaintNodeUnreachable,
			[]v1.Taint{user, {Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute, TimeAdded: v1.NewTime(t0)}}, 1, 1},
		{"removes both, keeps others", []v1.Taint{{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoExecute}, user,
			{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute}, {Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoSchedule}}, "",
			[]v1.Taint{user, {Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoSchedule}}, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := &v1.Node{Spec: v1.NodeSpec{Taints: tt.taints}}
			added, removed := replaceEvictionTaint(node, tt.want, t0)
			if len(added) != tt.added || len(removed) != tt.remov {
				t.Errorf("added %v, removed %v; want %d added, %d removed", added, removed, tt.added, tt.remov)
			}
			if !equalTaints(node.Spec.Taints, tt.wantTaints) {
				t.Errorf("taints = %+v, want %+v", node.Spec.Taints, tt.wantTaints)
			}
		})
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GracePeriod != v1.NodeMonitorGraceSeconds*time.Second || cfg.EvictionTimeout != v1.DefaultNotReadyTolerationSeconds*time.Second {
		t.Errorf("defaults: grace %v, eviction %v", cfg.GracePeriod, cfg.EvictionTimeout)
	}
	if cfg.Clock == nil || cfg.Options.Clock != cfg.Clock {
		t.Error("the queues do not share the controller's clock")
	}
	if _, err := (Config{GracePeriod: -time.Second}).withDefaults(); err == nil {
		t.Error("negative GracePeriod accepted")
	}
	if _, err := (Config{EvictionTimeout: -time.Second}).withDefaults(); err == nil {
		t.Error("negative EvictionTimeout accepted")
	}
}
