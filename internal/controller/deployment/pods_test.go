package deployment

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// epoch is the time pure tests run at.
var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// testDeployment is a deployment of replicas pods labelled app=web.
func testDeployment(replicas int32) *v1.Deployment {
	return &v1.Deployment{
		ObjectMeta: v1.ObjectMeta{Name: "web", Namespace: "default", UID: "d-uid", Generation: 1},
		Spec: v1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: v1.PodTemplateSpec{
				ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"a": "b"}},
				Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Command: []string{"sleep", "1d"}}}},
			},
			Strategy: v1.DeploymentStrategy{Type: v1.RollingUpdateDeploymentStrategyType},
		},
	}
}

func withStrategy(d *v1.Deployment, surge, unavailable intstr.IntOrString) *v1.Deployment {
	d.Spec.Strategy.RollingUpdate = &v1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}
	return d
}

// testPod is a pod of template hash, created age ago, Ready since
// readyFor ago when readyFor >= 0, and scheduled when node is set.
func testPod(name, hash string, age, readyFor time.Duration, node string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + name,
			Labels:            map[string]string{"app": "web", v1.LabelPodTemplateHash: hash},
			CreationTimestamp: v1.NewTime(epoch.Add(-age))},
		Spec: v1.PodSpec{NodeName: node},
	}
	if readyFor >= 0 {
		p.Status.Phase = v1.PodRunning
		p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue,
			LastTransitionTime: v1.NewTime(epoch.Add(-readyFor))}}
	}
	return p
}

func TestTemplateHash(t *testing.T) {
	t.Parallel()
	d := testDeployment(3)
	h := templateHash(d)
	if h == "" || len(h) > 10 || strings.Trim(h, hashAlphabet) != "" {
		t.Fatalf("templateHash = %q: want 1-10 characters of %q", h, hashAlphabet)
	}
	if got := templateHash(v1.Clone(d)); got != h {
		t.Errorf("hash of a copy = %q, want %q", got, h)
	}
	scaled := v1.Clone(d)
	scaled.Spec.Replicas = ptr(int32(7))
	scaled.Status.Replicas = 7
	if got := templateHash(scaled); got != h {
		t.Errorf("hash changed with replicas or status: %q, want %q", got, h)
	}
	changes := map[string]func(*v1.Deployment){
		"command":         func(d *v1.Deployment) { d.Spec.Template.Spec.Containers[0].Command = []string{"sleep", "2d"} },
		"label":           func(d *v1.Deployment) { d.Spec.Template.Labels["tier"] = "front" },
		"collision count": func(d *v1.Deployment) { d.Status.CollisionCount = ptr(int32(1)) },
	}
	for name, change := range changes {
		c := v1.Clone(d)
		change(c)
		if got := templateHash(c); got == h {
			t.Errorf("hash unchanged after changing the %s", name)
		}
	}
}

func TestNewPod(t *testing.T) {
	t.Parallel()
	d := testDeployment(1)
	kind, _ := v1.NewRegistry().ByKind("Deployment")
	p := newPod(d, kind, "abc")
	if p.GenerateName != "web-abc-" || p.Namespace != "default" {
		t.Errorf("generateName %q in %q, want web-abc- in default", p.GenerateName, p.Namespace)
	}
	if p.Labels["app"] != "web" || p.Labels[v1.LabelPodTemplateHash] != "abc" || p.Annotations["a"] != "b" {
		t.Errorf("metadata = %v %v: want template labels, hash and annotations", p.Labels, p.Annotations)
	}
	if _, ok := d.Spec.Template.Labels[v1.LabelPodTemplateHash]; ok {
		t.Error("newPod changed the deployment's template labels")
	}
	ref := v1.GetControllerOf(p)
	if ref == nil || ref.UID != d.UID || ref.Kind != "Deployment" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("controller ref = %+v", ref)
	}
	long := strings.Repeat("a", 250)
	if g := generateName(long, "abcdefghij"); len(g)+5 > 253 || !strings.HasSuffix(g, "-abcdefghij-") {
		t.Errorf("generateName for a long name = %q (%d bytes)", g, len(g))
	}
	if g := generateName(strings.Repeat("a", 235)+"."+strings.Repeat("b", 20), "h"); strings.Contains(g, ".-") {
		t.Errorf("truncated name keeps a trailing dot: %q", g)
	}
}

func TestFenceposts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                   string
		replicas               int32
		surge, unavailable     *intstr.IntOrString
		wantSurge, wantUnavail int32
	}{
		{"defaults of 3", 3, nil, nil, 1, 0},
		{"defaults of 4", 4, nil, nil, 1, 1},
		{"defaults of 10", 10, nil, nil, 3, 2},
		{"defaults of 1", 1, nil, nil, 1, 0},
		{"both zero", 5, ptr(intstr.FromInt32(0)), ptr(intstr.FromString("0%")), 0, 1},
		{"both round to zero", 1, ptr(intstr.FromString("0%")), ptr(intstr.FromString("50%")), 0, 1},
		{"counts", 5, ptr(intstr.FromInt32(2)), ptr(intstr.FromInt32(3)), 2, 3},
		{"surge rounds up", 5, ptr(intstr.FromString("30%")), ptr(intstr.FromString("30%")), 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := testDeployment(tc.replicas)
			if tc.surge != nil {
				d.Spec.Strategy.RollingUpdate = &v1.RollingUpdateDeployment{MaxSurge: tc.surge, MaxUnavailable: tc.unavailable}
			}
			s, u := fenceposts(d)
			if s != tc.wantSurge || u != tc.wantUnavail {
				t.Fatalf("fenceposts = %d, %d; want %d, %d", s, u, tc.wantSurge, tc.wantUnavail)
			}
		})
	}
	d := testDeployment(4)
	d.Spec.Strategy = v1.DeploymentStrategy{Type: v1.RecreateDeploymentStrategyType}
	if u := maxUnavailable(d); u != 0 {
		t.Errorf("maxUnavailable under Recreate = %d, want 0", u)
	}
}

func TestRankForDeletion(t *testing.T) {
	t.Parallel()
	pods := []*v1.Pod{
		testPod("ready-long", "new", time.Hour, time.Hour, "n1"),
		testPod("ready-short", "new", time.Hour, time.Minute, "n1"),
		testPod("ready-old-template", "old", time.Hour, time.Hour, "n1"),
		testPod("unready-old", "new", time.Hour, -1, "n1"),
		testPod("unready-young", "new", time.Minute, -1, "n1"),
		testPod("unscheduled", "new", 2*time.Hour, -1, ""),
	}
	want := []string{"unscheduled", "unready-young", "unready-old", "ready-old-template", "ready-short", "ready-long"}
	got := rankForDeletion(pods, "new")
	for i := range want {
		if got[i].Name != want[i] {
			t.Fatalf("deletion order = %v, want %v", names(got), want)
		}
	}
}

func names(pods []*v1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}
