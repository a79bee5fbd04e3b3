package plugins

import (
	"context"
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// TaintTolerationName is the TaintToleration plugin's name.
const TaintTolerationName = "TaintToleration"

// UntoleratedTaintReason is the reason a node is rejected for a taint the
// pod does not tolerate, in Kubernetes' words.
func UntoleratedTaintReason(t *v1.Taint) string {
	return fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)
}

// TaintToleration keeps pods off nodes with NoSchedule or NoExecute taints
// they do not tolerate, and prefers nodes with fewer untolerated
// PreferNoSchedule taints.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin    = TaintToleration{}
	_ framework.ScorePlugin     = TaintToleration{}
	_ framework.ScoreNormalizer = TaintToleration{}
)

// Name is TaintTolerationName.
func (TaintToleration) Name() string { return TaintTolerationName }

// Filter rejects a node for its first untolerated NoSchedule or NoExecute
// taint.
func (TaintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) *framework.Status {
	taints := n.Taints()
	for i := range taints {
		t := &taints[i]
		if t.Effect != v1.TaintEffectNoSchedule && t.Effect != v1.TaintEffectNoExecute {
			continue
		}
		if !v1.ToleratesTaint(pod.Spec.Tolerations, t) {
			return framework.NewStatus(framework.Unschedulable, UntoleratedTaintReason(t))
		}
	}
	return nil
}

// Score counts the node's PreferNoSchedule taints the pod does not
// tolerate; NormalizeScore turns fewer into better.
func (TaintToleration) Score(_ context.Context, _ *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	taints := n.Taints()
	if len(taints) == 0 {
		return 0, nil
	}
	// Only tolerations that can apply to PreferNoSchedule count.
	var tols []v1.Toleration
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == v1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	var count int64
	for i := range taints {
		t := &taints[i]
		if t.Effect == v1.TaintEffectPreferNoSchedule && !v1.ToleratesTaint(tols, t) {
			count++
		}
	}
	return count, nil
}

// NormalizeScore maps the counts onto MaxNodeScore (none untolerated) down
// to MinNodeScore (the most).
func (TaintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *v1.Pod, scores []framework.NodeScore) *framework.Status {
	normalize(scores, true)
	return nil
}

// normalize scales scores to MinNodeScore..MaxNodeScore by the highest
// one; reverse makes the highest the worst. All zero stays zero, or
// becomes MaxNodeScore when reversed.
func normalize(scores []framework.NodeScore, reverse bool) {
	var top int64
	for _, s := range scores {
		top = max(top, s.Score)
	}
	for i := range scores {
		v := framework.MinNodeScore
		if top > 0 {
			v = scores[i].Score * framework.MaxNodeScore / top
		}
		if reverse {
			v = framework.MaxNodeScore - v
		}
		scores[i].Score = v
	}
}
