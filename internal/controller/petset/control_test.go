package petset

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// config is one combination every scenario runs under: a pod management
// policy and a claim retention policy.
type config struct {
	policy                  v1.PodManagementPolicyType
	whenDeleted, whenScaled v1.PersistentVolumeClaimRetentionPolicyType
}

func (c config) String() string {
	return fmt.Sprintf("%s,whenDeleted=%s,whenScaled=%s", c.policy, c.whenDeleted, c.whenScaled)
}

func (c config) ordered() bool { return c.policy == v1.OrderedReadyPodManagement }

func configs() []config {
	var out []config
	for _, p := range []v1.PodManagementPolicyType{v1.OrderedReadyPodManagement, v1.ParallelPodManagement} {
		for _, wd := range []v1.PersistentVolumeClaimRetentionPolicyType{retain, del} {
			for _, ws := range []v1.PersistentVolumeClaimRetentionPolicyType{retain, del} {
				out = append(out, config{policy: p, whenDeleted: wd, whenScaled: ws})
			}
		}
	}
	return out
}

// webSet is the set "web" of replicas pets under cfg: one claim template
// "data", which replaces the template's pod volume of that name.
func webSet(cfg config, replicas int32) *v1.PetSet {
	return &v1.PetSet{
		ObjectMeta: v1.ObjectMeta{Name: "web", Namespace: "default", UID: "set-uid", Generation: 1},
		Spec: v1.PetSetSpec{
			Replicas:    &replicas,
			Selector:    &v1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			ServiceName: "web-svc",
			Template: v1.PodTemplateSpec{
				ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "db"}},
				Spec: v1.PodSpec{
					Containers: []v1.Container{{Name: "app", Command: []string{"serve"}, Args: []string{"v1"}}},
					Volumes: []v1.Volume{
						{Name: "data", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
						{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
					},
				},
			},
			VolumeClaimTemplates: []v1.PersistentVolumeClaim{{
				ObjectMeta: v1.ObjectMeta{Name: "data", Labels: map[string]string{"tier": "db"}},
				Spec: v1.PersistentVolumeClaimSpec{AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
					Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}}},
			}},
			PodManagementPolicy: cfg.policy,
			PersistentVolumeClaimRetentionPolicy: &v1.PetSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: cfg.whenDeleted, WhenScaled: cfg.whenScaled},
		},
	}
}

// scenario is one story told under every config.
type scenario struct {
	name string
	run  func(t *testing.T, w *world, cfg config)
}

// TestScenarios runs every scenario under both pod management policies
// and all four retention policies. The world checks, at every call, that
// claims exist before their pod, that OrderedReady creates a pet only
// after its predecessors are Running and Ready and removes one only after
// its successors are gone, and that a rolling update stays within its
// partition and maxUnavailable; after every reconcile it checks
// atMostOnePerIdentity.
func TestScenarios(t *testing.T) {
	scenarios := []scenario{
		{"scale up and down", scaleUpAndDown},
		{"failed pet comes back only once its pod is gone", failedPet},
		{"pet on a NotReady node is not replaced until fenced", notReadyNode},
		{"failed pet on a dead node waits for the fence", failedOnDeadNode},
		{"rolling update", rollingUpdate},
		{"rolling update with partition", partitionedUpdate},
		{"rolling update with maxUnavailable", maxUnavailableUpdate},
		{"minReadySeconds", minReadySeconds},
		{"OnDelete", onDelete},
		{"rollback and history limit", rollback},
		{"set deletion", setDeletion},
		{"ordinals.start", startOrdinal},
		{"claim of a scaled-down pet", staleClaim},
		{"identity labels restored", identityRepair},
		{"name held by a pod of no set", foreignPod},
	}
	for _, cfg := range configs() {
		for _, sc := range scenarios {
			t.Run(cfg.String()+"/"+sc.name, func(t *testing.T) {
				t.Parallel()
				sc.run(t, newWorld(t, webSet(cfg, 3)), cfg)
			})
		}
	}
}

// upAndReady runs the world until n pets are Ready.
func upAndReady(w *world, n int32) {
	w.t.Helper()
	w.run(fmt.Sprintf("%d ready pets", n), func() bool {
		return w.set.Status.ReadyReplicas == n && w.set.Status.Replicas == n
	})
}

// creates lists the pods the controller created, in order.
func creates(w *world) []string {
	var out []string
	for _, l := range w.log {
		if name, ok := strings.CutPrefix(l, "create "); ok {
			out = append(out, name)
		}
	}
	return out
}

// deletesSince lists the pods the controller deleted after log entry n.
func deletesSince(w *world, n int) []string {
	var out []string
	for _, l := range w.log[n:] {
		if name, ok := strings.CutPrefix(l, "delete "); ok {
			out = append(out, name)
		}
	}
	return out
}

func scaleUpAndDown(t *testing.T, w *world, cfg config) {
	w.step()
	if want := map[bool]int{true: 1, false: 3}[cfg.ordered()]; len(creates(w)) != want {
		t.Fatalf("first reconcile created %v, want %d pods", creates(w), want)
	}
	upAndReady(w, 3)
	if got := creates(w); !slices.Equal(got, []string{"web-0", "web-1", "web-2"}) {
		t.Errorf("created %v, want web-0, web-1, web-2 in order", got)
	}
	for o := range int32(3) {
		checkPet(t, w, o)
	}
	claimUIDs := map[string]string{}
	for name, c := range w.claims {
		claimUIDs[name] = c.UID
	}

	mark := len(w.log)
	w.scale(1)
	w.step()
	if !cfg.ordered() && len(deletesSince(w, mark)) != 2 {
		t.Errorf("Parallel scale-down deleted %v at once, want web-2 and web-1", deletesSince(w, mark))
	}
	w.run("scaled down to 1", func() bool { return len(w.pods) == 1 && w.set.Status.Replicas == 1 })
	if got := deletesSince(w, mark); cfg.ordered() && !slices.Equal(got, []string{"web-2", "web-1"}) {
		t.Errorf("scale-down deleted %v, want web-2 then web-1", got)
	}
	for _, name := range []string{"data-web-1", "data-web-2"} {
		if gone := w.claims[name] == nil; gone != (cfg.whenScaled == del) {
			t.Errorf("claim %s gone = %v after scale-down under whenScaled=%s", name, gone, cfg.whenScaled)
		}
	}

	w.scale(3)
	upAndReady(w, 3)
	for _, name := range []string{"data-web-1", "data-web-2"} {
		if reused := w.claims[name].UID == claimUIDs[name]; reused != (cfg.whenScaled == retain) {
			t.Errorf("claim %s reused = %v after scale-up under whenScaled=%s", name, reused, cfg.whenScaled)
		}
	}
	for o := range int32(3) {
		checkPet(t, w, o)
	}
}

// checkPet checks the shape of the pet of ordinal o and of its claim.
func checkPet(t *testing.T, w *world, o int32) {
	t.Helper()
	name := w.set.PetName(o)
	p := w.pod(name)
	if p == nil {
		t.Fatalf("no pod %s", name)
	}
	if p.Spec.Hostname != name || p.Spec.Subdomain != "web-svc" {
		t.Errorf("%s: hostname %q subdomain %q, want %q and web-svc", name, p.Spec.Hostname, p.Spec.Subdomain, name)
	}
	if p.Labels[v1.PetSetPodNameLabel] != name || p.Labels[v1.PodIndexLabel] != fmt.Sprint(o) ||
		p.Labels["app"] != "web" || p.Labels[v1.ControllerRevisionHashLabel] == "" {
		t.Errorf("%s: labels %v", name, p.Labels)
	}
	if ref := v1.GetControllerOf(p); ref == nil || ref.UID != w.set.UID || ref.Kind != "PetSet" {
		t.Errorf("%s: controller %+v, want the set", name, ref)
	}
	claim := "data-" + name
	vols := p.Spec.Volumes
	if len(vols) != 2 || vols[0].Name != "data" || vols[0].PersistentVolumeClaim == nil ||
		vols[0].PersistentVolumeClaim.ClaimName != claim || vols[1].Name != "scratch" {
		t.Errorf("%s: volumes %+v, want data from claim %s replacing the template's, then scratch", name, vols, claim)
	}
	c := w.claims[claim]
	if c == nil {
		t.Fatalf("no claim %s", claim)
	}
	if c.Labels["tier"] != "db" || c.Labels["app"] != "web" {
		t.Errorf("claim %s labels %v, want the template's and the selector's", claim, c.Labels)
	}
	whenDeleted, _ := w.set.ClaimRetention()
	if owned := hasOwner(c, w.set.UID); owned != (whenDeleted == del) || hasOwner(c, p.UID) {
		t.Errorf("claim %s owners %+v under whenDeleted=%s", claim, c.OwnerReferences, whenDeleted)
	}
}

func failedPet(t *testing.T, w *world, cfg config) {
	upAndReady(w, 3)
	old := w.pod("web-1")
	claim := w.claims["data-web-1"].UID
	w.setPhase("web-1", v1.PodFailed)
	w.step()
	if p := w.pod("web-1"); p.UID != old.UID || !isTerminating(p) {
		t.Fatalf("failed pet: web-1 uid %s terminating %v, want the old pod terminating", p.UID, isTerminating(p))
	}
	if !slices.Contains(w.events, ReasonRecreatingFailedPod) {
		t.Errorf("events %v, want %s", w.events, ReasonRecreatingFailedPod)
	}
	for range 3 { // the agent has not finished the deletion yet
		w.step()
	}
	if n := len(creates(w)); n != 3 {
		t.Fatalf("a pod was created while web-1 terminates: %v", creates(w))
	}
	w.finish("web-1")
	upAndReady(w, 3)
	if p := w.pod("web-1"); p.UID == old.UID {
		t.Errorf("web-1 was not created again")
	}
	if c := w.claims["data-web-1"]; c == nil || c.UID != claim {
		t.Errorf("claim data-web-1 was not kept across the replacement (retention applies to scale-down only)")
	}
}

func notReadyNode(t *testing.T, w *world, cfg config) {
	upAndReady(w, 3)
	old := w.pod("web-1")
	w.setPhase("web-1", v1.PodRunning) // its node is NotReady: Running, not Ready
	w.scale(4)
	for range 3 {
		w.step()
	}
	if p := w.pod("web-1"); p.UID != old.UID || isTerminating(p) {
		t.Fatalf("the pet on a NotReady node was deleted or replaced")
	}
	if created := w.pod("web-3") != nil; created == cfg.ordered() {
		t.Errorf("web-3 created = %v beside an unready web-1 under %s", created, cfg.policy)
	}
	w.fence("web-1")
	upAndReady(w, 4)
	if w.pod("web-1").UID == old.UID {
		t.Errorf("web-1 was not created again after the fence")
	}
}

func failedOnDeadNode(t *testing.T, w *world, cfg config) {
	upAndReady(w, 3)
	w.setPhase("web-2", v1.PodFailed)
	for range 4 { // its node is dead: the deletion never finishes
		w.step()
	}
	if got := creates(w); len(got) != 3 || !isTerminating(w.pod("web-2")) {
		t.Fatalf("created %v; web-2 terminating %v: want no replacement while it terminates", got, isTerminating(w.pod("web-2")))
	}
	w.fence("web-2")
	upAndReady(w, 3)
	if got := creates(w); len(got) != 4 || got[3] != "web-2" {
		t.Errorf("created %v, want web-2 again after the fence", got)
	}
}

func startOrdinal(t *testing.T, w *world, cfg config) {
	w.edit(func(s *v1.PetSetSpec) { s.Ordinals = &v1.PetSetOrdinals{Start: 5} })
	upAndReady(w, 3)
	if got := creates(w); !slices.Equal(got, []string{"web-5", "web-6", "web-7"}) {
		t.Fatalf("created %v, want web-5..7", got)
	}
	mark := len(w.log)
	w.edit(func(s *v1.PetSetSpec) { s.Ordinals.Start = 3 })
	w.run("pets 3..5", func() bool {
		return w.set.Status.ReadyReplicas == 3 && w.set.Status.Replicas == 3 && w.pod("web-3") != nil
	})
	if got := deletesSince(w, mark); !slices.Equal(got, []string{"web-7", "web-6"}) {
		t.Errorf("deleted %v, want web-7 then web-6", got)
	}
	if w.claims["data-web-3"] == nil || w.claims["data-web-5"] == nil {
		t.Errorf("claims %v, want data-web-3 and data-web-5", w.claims)
	}
}

func setDeletion(t *testing.T, w *world, cfg config) {
	upAndReady(w, 3)
	w.set.DeletionTimestamp = v1.NewTime(w.now)
	w.gc()
	mark := len(w.log)
	for range 3 {
		w.step()
	}
	if len(w.log) != mark {
		t.Errorf("a set being deleted acted on its pods: %v", w.log[mark:])
	}
	if w.set.Status.Replicas != 3 {
		t.Errorf("status.replicas %d while 3 pods terminate", w.set.Status.Replicas)
	}
	w.finish()
	if len(w.pods) != 0 {
		t.Fatalf("pods left: %v", w.describe())
	}
	if kept := len(w.claims) == 3; kept != (cfg.whenDeleted == retain) {
		t.Errorf("%d claims left after the set's deletion under whenDeleted=%s", len(w.claims), cfg.whenDeleted)
	}
}

func staleClaim(t *testing.T, w *world, cfg config) {
	upAndReady(w, 3)
	old := w.claims["data-web-2"].UID
	w.lazyGC = true
	w.scale(2)
	w.step()
	if byPod := hasOwner(w.claims["data-web-2"], w.pod("web-2").UID); byPod != (cfg.whenScaled == del) {
		t.Errorf("claim of the condemned web-2 owned by it = %v under whenScaled=%s", byPod, cfg.whenScaled)
	}
	w.finish("web-2")
	w.scale(3)
	w.step()
	if waits := w.pod("web-2") == nil; waits != (cfg.whenScaled == del) {
		t.Fatalf("web-2 waits for its predecessor's claim = %v under whenScaled=%s", waits, cfg.whenScaled)
	}
	w.gc()
	upAndReady(w, 3)
	if reused := w.claims["data-web-2"].UID == old; reused != (cfg.whenScaled == retain) {
		t.Errorf("claim data-web-2 reused = %v under whenScaled=%s", reused, cfg.whenScaled)
	}
}

func identityRepair(t *testing.T, w *world, cfg config) {
	upAndReady(w, 3)
	p := w.pod("web-1")
	delete(p.Labels, v1.PodIndexLabel)
	p.Labels[v1.PetSetPodNameLabel] = "wrong"
	w.step()
	if p := w.pod("web-1"); !identityMatches(p, 1) || isTerminating(p) {
		t.Errorf("web-1 labels %v after a reconcile, want its identity back in place", p.Labels)
	}
}

func foreignPod(t *testing.T, w *world, cfg config) {
	w.pods = append(w.pods, &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "web-1", Namespace: "default", UID: "foreign",
		Labels: map[string]string{"app": "other"}}})
	for range 6 {
		w.step()
		w.ready()
	}
	if !slices.Contains(w.events, ReasonFailedCreate) || slices.Contains(creates(w), "web-1") {
		t.Errorf("events %v, created %v: want web-1 refused and waited for", w.events, creates(w))
	}
	if created := w.pod("web-2") != nil; created == cfg.ordered() {
		t.Errorf("web-2 created = %v while web-1 cannot be, under %s", created, cfg.policy)
	}
	w.fence("web-1")
	upAndReady(w, 3)
}
