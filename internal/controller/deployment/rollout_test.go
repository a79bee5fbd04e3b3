package deployment

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// decideCase is a deployment, its pods, and the plan decide should make.
type decideCase struct {
	name       string
	d          *v1.Deployment
	pods       []*v1.Pod
	wantCreate int
	wantCopy   string
	wantDelete []string
}

func TestDecide(t *testing.T) {
	t.Parallel()
	for _, tc := range decideCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := decide(tc.d, classify("new", tc.pods), epoch)
			copied := ""
			if p.copyFrom != nil {
				copied = p.copyFrom.Name
			}
			if p.create != tc.wantCreate || copied != tc.wantCopy || !slices.Equal(names(p.delete), tc.wantDelete) {
				t.Fatalf("plan = create %d (copy %q), delete %v; want create %d (copy %q), delete %v",
					p.create, copied, names(p.delete), tc.wantCreate, tc.wantCopy, tc.wantDelete)
			}
		})
	}
}

func decideCases() []decideCase {
	const unready = -1
	failed := testPod("failed", "new", time.Hour, unready, "n1")
	failed.Status.Phase = v1.PodFailed
	stuck := testPod("stuck", "old", time.Hour, time.Hour, "n1")
	stuck.DeletionTimestamp = v1.NewTime(epoch)
	recreate := func(d *v1.Deployment) *v1.Deployment {
		d.Spec.Strategy = v1.DeploymentStrategy{Type: v1.RecreateDeploymentStrategyType}
		return d
	}
	paused := func(d *v1.Deployment) *v1.Deployment { d.Spec.Paused = true; return d }
	return []decideCase{
		{"create from nothing", testDeployment(3), nil, 3, "", nil},
		{"scale down by rank", testDeployment(1), []*v1.Pod{
			testPod("a", "new", time.Hour, time.Hour, "n1"), testPod("b", "new", time.Hour, unready, "n1"),
			testPod("c", "new", time.Minute, time.Minute, "n1"),
		}, 0, "", []string{"b", "c"}},
		{"finished pods are replaced", testDeployment(1), []*v1.Pod{failed}, 1, "", []string{"failed"}},
		{"terminating pods do not count", testDeployment(1), []*v1.Pod{stuck}, 1, "", nil},
		{"surge first", withStrategy(testDeployment(3), intstr.FromInt32(1), intstr.FromInt32(0)), []*v1.Pod{
			testPod("o1", "old", time.Hour, time.Hour, "n1"), testPod("o2", "old", time.Hour, time.Hour, "n1"),
			testPod("o3", "old", time.Hour, time.Hour, "n1"),
		}, 1, "", nil},
		{"wait for the new pod", withStrategy(testDeployment(3), intstr.FromInt32(1), intstr.FromInt32(0)), []*v1.Pod{
			testPod("o1", "old", time.Hour, time.Hour, "n1"), testPod("o2", "old", time.Hour, time.Hour, "n1"),
			testPod("o3", "old", time.Hour, time.Hour, "n1"), testPod("n1", "new", 0, unready, "n1"),
		}, 0, "", nil},
		{"unavailable old pods go first", withStrategy(testDeployment(3), intstr.FromInt32(1), intstr.FromInt32(0)), []*v1.Pod{
			testPod("o1", "old", time.Hour, time.Hour, "n1"), testPod("o2", "old", time.Hour, unready, "n1"),
			testPod("o3", "old", time.Hour, time.Hour, "n1"), testPod("n1", "new", 0, 0, "n1"),
		}, 0, "", []string{"o2"}},
		{"then available old pods", withStrategy(testDeployment(3), intstr.FromInt32(1), intstr.FromInt32(0)), []*v1.Pod{
			testPod("o1", "old", time.Hour, time.Hour, "n1"), testPod("o2", "old", time.Hour, 2*time.Hour, "n1"),
			testPod("o3", "old", time.Hour, time.Hour, "n1"), testPod("n1", "new", 0, 0, "n1"),
		}, 0, "", []string{"o1"}},
		{"unavailability budget", withStrategy(testDeployment(4), intstr.FromInt32(0), intstr.FromInt32(2)), []*v1.Pod{
			testPod("o1", "old", time.Hour, time.Hour, "n1"), testPod("o2", "old", time.Hour, time.Hour, "n1"),
			testPod("o3", "old", time.Hour, time.Hour, "n1"), testPod("o4", "old", time.Hour, time.Hour, "n1"),
		}, 0, "", []string{"o1", "o2"}},
		{"recreate deletes old first", recreate(testDeployment(2)), []*v1.Pod{
			testPod("o1", "old", time.Hour, time.Hour, "n1"), testPod("n1", "new", 0, unready, "n1"),
		}, 0, "", []string{"o1"}},
		{"recreate waits for old pods to go", recreate(testDeployment(2)), []*v1.Pod{stuck}, 0, "", nil},
		{"paused scales old template", paused(testDeployment(3)), []*v1.Pod{
			testPod("o1", "old", time.Hour, time.Hour, "n1"), testPod("o2", "old", time.Minute, time.Hour, "n1"),
		}, 1, "o2", nil},
		{"paused does not roll", paused(testDeployment(2)), []*v1.Pod{
			testPod("o1", "old", time.Hour, time.Hour, "n1"), testPod("o2", "old", time.Minute, time.Hour, "n1"),
		}, 0, "", nil},
	}
}

// TestRollingUpdateInvariants plays rolling updates against a simulated
// cluster in which pods become Ready in random order, and checks after
// every step that the rollout never has more than replicas+maxSurge pods
// nor fewer than replicas-maxUnavailable available, and that it finishes.
func TestRollingUpdateInvariants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		replicas           int32
		surge, unavailable intstr.IntOrString
	}{
		{3, intstr.FromInt32(1), intstr.FromInt32(0)},
		{3, intstr.FromInt32(0), intstr.FromInt32(1)},
		{10, intstr.FromString("25%"), intstr.FromString("25%")},
		{5, intstr.FromInt32(5), intstr.FromInt32(0)},
		{1, intstr.FromInt32(0), intstr.FromInt32(1)},
	} {
		t.Run(fmt.Sprintf("%d/%s/%s", tc.replicas, tc.surge.String(), tc.unavailable.String()), func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(20) {
				simulateRollout(t, withStrategy(testDeployment(tc.replicas), tc.surge, tc.unavailable), seed)
			}
		})
	}
}

func simulateRollout(t *testing.T, d *v1.Deployment, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0))
	r := replicasOf(d)
	surge, unavailable := fenceposts(d)
	var pods []*v1.Pod
	for i := range r {
		pods = append(pods, testPod(fmt.Sprintf("old-%d", i), "old", time.Hour, time.Hour, ""))
	}
	next := 0
	for step := 0; ; step++ {
		if step > 1000 {
			t.Fatalf("seed %d: rollout did not finish: %v", seed, names(pods))
		}
		ps := classify("new", pods)
		if len(ps.old) == 0 && int32(len(ps.updated)) == r && countAvailable(ps.updated, 0, epoch) == r {
			return
		}
		p := decide(d, ps, epoch)
		for _, del := range p.delete {
			pods = slices.DeleteFunc(pods, func(x *v1.Pod) bool { return x == del })
		}
		for range p.create {
			pods = append(pods, testPod(fmt.Sprintf("new-%d", next), "new", 0, -1, ""))
			next++
		}
		if p.create == 0 && len(p.delete) == 0 {
			// The controller waits: some pod becomes Ready.
			var unready []*v1.Pod
			for _, x := range pods {
				if !v1.IsPodReady(x) {
					unready = append(unready, x)
				}
			}
			if len(unready) == 0 {
				t.Fatalf("seed %d: rollout stalled with every pod ready: %v", seed, names(pods))
			}
			pick := unready[rng.IntN(len(unready))]
			*pick = *testPod(pick.Name, pick.Labels[v1.LabelPodTemplateHash], 0, 0, "")
		}
		if n := int32(len(pods)); n > r+surge {
			t.Fatalf("seed %d step %d: %d pods, more than %d+%d", seed, step, n, r, surge)
		}
		if a := countAvailable(pods, 0, epoch); a < r-unavailable {
			t.Fatalf("seed %d step %d: %d available, fewer than %d-%d", seed, step, a, r, unavailable)
		}
	}
}
