package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// background is a command running in a goroutine.
type background struct {
	out, err *testcluster.SyncBuffer
	done     chan int
}

// start runs a kennel command in the background.
func (e *env) start(args ...string) *background {
	b := &background{out: &testcluster.SyncBuffer{}, err: &testcluster.SyncBuffer{}, done: make(chan int, 1)}
	go func() {
		b.done <- runCommand(context.Background(), strings.NewReader(""), b.out, b.err, append([]string{"--config", e.config}, args...))
	}()
	return b
}

// waitOutput waits until the command has printed want.
func (b *background) waitOutput(t *testing.T, want string) {
	t.Helper()
	testcluster.Eventually(t, 10*time.Second, "the command to print "+want, func() bool { return strings.Contains(b.out.String(), want) })
}

// exit waits for the command to end and returns its exit code.
func (b *background) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-b.done:
		return code
	case <-time.After(10 * time.Second):
		t.Fatalf("the command did not end; it printed:\n%s%s", b.out.String(), b.err.String())
		return 0
	}
}

// setPetSetStatus writes the status a PetSet controller would.
func (e *env) setPetSetStatus(name string, st v1.PetSetStatus) {
	e.t.Helper()
	sets := client.For[*v1.PetSet](e.tc.Admin, "default")
	s := e.petSet(name)
	st.ObservedGeneration = s.Generation
	s.Status = st
	if _, err := sets.UpdateStatus(e.ctx(), s); err != nil {
		e.t.Fatal(err)
	}
}

func TestRolloutStatusOfAPetSetWaitsForEveryPetAtTheNewRevision(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createPetSet("db", 3)
	b := e.start("rollout", "status", "petset", "db", "--timeout", "30s")
	b.waitOutput(t, "Waiting for petset spec update to be observed...\n")
	e.setPetSetStatus("db", v1.PetSetStatus{Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1, CurrentRevision: "db-a", UpdateRevision: "db-a"})
	b.waitOutput(t, "Waiting for 2 pods to be ready...\n")
	e.setPetSetStatus("db", v1.PetSetStatus{Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 1, CurrentReplicas: 2, CurrentRevision: "db-a", UpdateRevision: "db-b"})
	b.waitOutput(t, "waiting for petset rolling update to complete 1 pods at revision db-b...\n")
	e.setPetSetStatus("db", v1.PetSetStatus{Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3, CurrentReplicas: 3, CurrentRevision: "db-b", UpdateRevision: "db-b"})
	if code := b.exit(t); code != 0 {
		t.Fatalf("rollout status: exit %d\n%s%s", code, b.out.String(), b.err.String())
	}
	wantLines(t, "rollout status", b.out.String(),
		"Waiting for petset spec update to be observed...",
		"Waiting for 2 pods to be ready...",
		"waiting for petset rolling update to complete 1 pods at revision db-b...",
		"petset rolling update complete 3 pods at revision db-b...")

	// Complete already: one line, at once; a spec change not yet seen by
	// the controller is not complete.
	wantLines(t, "status of a complete rollout", e.mustRun("rollout", "status", "sts/db"),
		"statefulset rolling update complete 3 pods at revision db-b...")
	e.mustRun("scale", "petset", "db", "--replicas", "4")
	wantLines(t, "--watch=false", e.mustRun("rollout", "status", "petset", "db", "--watch=false"),
		"Waiting for petset spec update to be observed...")
}

func TestRolloutStatusOfAPartitionedPetSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.createPetSet("db", 3)
	two := int32(2)
	s.Spec.UpdateStrategy.RollingUpdate.Partition = &two
	if _, err := client.For[*v1.PetSet](e.tc.Admin, "default").Update(e.ctx(), s); err != nil {
		t.Fatal(err)
	}
	e.setPetSetStatus("db", v1.PetSetStatus{Replicas: 3, ReadyReplicas: 3, CurrentReplicas: 3, CurrentRevision: "db-a", UpdateRevision: "db-b"})
	b := e.start("rollout", "status", "petset", "db", "--timeout", "30s")
	b.waitOutput(t, "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...\n")
	// Only db-2 is updated; the current revision stays the old one.
	e.setPetSetStatus("db", v1.PetSetStatus{Replicas: 3, ReadyReplicas: 3, CurrentReplicas: 2, UpdatedReplicas: 1, CurrentRevision: "db-a", UpdateRevision: "db-b"})
	if code := b.exit(t); code != 0 {
		t.Fatalf("rollout status: exit %d\n%s%s", code, b.out.String(), b.err.String())
	}
	wantLines(t, "partitioned rollout status", b.out.String(),
		"Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...",
		"partitioned roll out complete: 1 new pods have been updated...")
}

func TestRolloutStatusFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createPetSet("db", 2)
	r := e.run("rollout", "status", "petset", "db", "--timeout", "1s")
	if r.code == 0 {
		t.Fatalf("rollout status of an unobserved set succeeded:\n%s", r.out)
	}
	wantLines(t, "stdout", r.out, "Waiting for petset spec update to be observed...")
	wantContains(t, "stderr", r.err, "rollout status petset.apps/db: timed out after 1s", "spec update to be observed")

	s := e.createPetSet("ondelete", 1)
	s.Spec.UpdateStrategy = v1.PetSetUpdateStrategy{Type: v1.OnDeletePetSetStrategyType}
	if _, err := client.For[*v1.PetSet](e.tc.Admin, "default").Update(e.ctx(), s); err != nil {
		t.Fatal(err)
	}
	wantContains(t, "OnDelete", e.mustFail("rollout", "status", "petset", "ondelete"), "petset.apps/ondelete", "OnDelete")
	wantContains(t, "missing set", e.mustFail("rollout", "status", "petset", "nope"), "petset.apps/nope", "not found")
	wantContains(t, "pods", e.mustFail("rollout", "status", "pod", "x"), "only petsets and deployments")
}

func TestRolloutStatusOfADeployment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createDeployment("web", 3)
	deps := client.For[*v1.Deployment](e.tc.Admin, "default")
	setStatus := func(st v1.DeploymentStatus) {
		t.Helper()
		d, err := deps.Get(e.ctx(), "web")
		if err != nil {
			t.Fatal(err)
		}
		st.ObservedGeneration = d.Generation
		d.Status = st
		if _, err := deps.UpdateStatus(e.ctx(), d); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(v1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, AvailableReplicas: 3})
	b := e.start("rollout", "status", "deployment", "web", "--timeout", "30s")
	b.waitOutput(t, `Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...`)
	setStatus(v1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 3, AvailableReplicas: 3})
	b.waitOutput(t, `Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...`)
	setStatus(v1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 2})
	b.waitOutput(t, `Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...`)
	setStatus(v1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3})
	if code := b.exit(t); code != 0 {
		t.Fatalf("rollout status: exit %d\n%s%s", code, b.out.String(), b.err.String())
	}
	wantContains(t, "rollout status", b.out.String(), `deployment "web" successfully rolled out`)
	wantContains(t, "history of a deployment", e.mustFail("rollout", "history", "deployment", "web"), "only petsets")
}

// revisionData is a revision's data as Kubernetes (and the PetSet
// controller) stores it: a patch replacing the template.
func revisionData(t *testing.T, tmpl v1.PodTemplateSpec) []byte {
	t.Helper()
	b, err := json.Marshal(&tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(`{"spec":{"template":{"$patch":"replace",` + string(b[1:]) + `}}`)
}

// addRevision stores revision n of set, owned by it, with data and a
// change cause.
func (e *env) addRevision(set *v1.PetSet, n int64, data []byte, cause string) {
	e.t.Helper()
	yes := true
	r := &v1.ControllerRevision{
		ObjectMeta: v1.ObjectMeta{Name: set.Name + "-rev" + string(rune('a'+n)),
			OwnerReferences: []v1.OwnerReference{{APIVersion: "kennel.io/v1", Kind: "PetSet", Name: set.Name, UID: set.UID, Controller: &yes}}},
		Data: data, Revision: n,
	}
	if cause != "" {
		r.Annotations = map[string]string{"kubernetes.io/change-cause": cause}
	}
	if _, err := client.For[*v1.ControllerRevision](e.tc.Admin, "default").Create(e.ctx(), r); err != nil {
		e.t.Fatal(err)
	}
}

// setTemplate replaces the set's template and returns the set as stored.
func (e *env) setTemplate(name string, tmpl v1.PodTemplateSpec) *v1.PetSet {
	e.t.Helper()
	s := e.petSet(name)
	s.Spec.Template = tmpl
	s, err := client.For[*v1.PetSet](e.tc.Admin, "default").Update(e.ctx(), s)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fieldLines is out with each line's fields separated by one space.
func fieldLines(out string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

func TestRolloutHistoryAndUndo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v1Set := e.createPetSet("db", 3)
	e.addRevision(v1Set, 1, revisionData(t, v1Set.Spec.Template), "first")
	v2Set := e.setTemplate("db", podTemplate("db", "sleep", "2000"))
	e.addRevision(v2Set, 2, revisionData(t, v2Set.Spec.Template), "")
	// Revisions of another set, and of an earlier set of the same name,
	// are not db's.
	other := e.createPetSet("other", 1)
	e.addRevision(other, 7, revisionData(t, other.Spec.Template), "")
	e.addRevision(&v1.PetSet{ObjectMeta: v1.ObjectMeta{Name: "db-old", UID: "uid-of-a-deleted-db"}}, 9, revisionData(t, v1Set.Spec.Template), "")

	if got, want := fieldLines(e.mustRun("rollout", "history", "petset", "db")), "petset.apps/db\nREVISION CHANGE-CAUSE\n1 first\n2 <none>"; got != want {
		t.Errorf("rollout history:\n%s\nwant\n%s", got, want)
	}
	var shown v1.PodTemplateSpec
	if err := yaml.Unmarshal([]byte(e.mustRun("rollout", "history", "sts/db", "--revision", "1")), &shown); err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, shown) != jsonOf(t, v1Set.Spec.Template) {
		t.Errorf("--revision 1 printed\n%s\nwant\n%s", jsonOf(t, shown), jsonOf(t, v1Set.Spec.Template))
	}
	wantContains(t, "missing revision", e.mustFail("rollout", "history", "petset", "db", "--revision", "5"), "petset.apps/db", "no revision 5 (revisions: 1,2)")

	wantLines(t, "undo", e.mustRun("rollout", "undo", "petset", "db"), "petset.apps/db rolled back to revision 1")
	after := e.petSet("db")
	if jsonOf(t, after.Spec.Template) != jsonOf(t, v1Set.Spec.Template) {
		t.Errorf("after undo the template is\n%s\nwant revision 1's\n%s", jsonOf(t, after.Spec.Template), jsonOf(t, v1Set.Spec.Template))
	}
	if after.Generation <= v2Set.Generation || *after.Spec.Replicas != 3 || after.Spec.ServiceName != "db" {
		t.Errorf("after undo: generation %d (was %d), replicas %d, service %q; want a new generation, the rest kept",
			after.Generation, v2Set.Generation, *after.Spec.Replicas, after.Spec.ServiceName)
	}
	wantLines(t, "undo to the current template", e.mustRun("rollout", "undo", "petset", "db", "--to-revision", "1"),
		"petset.apps/db skipped rollback (current template already matches revision 1)")
	wantLines(t, "undo --to-revision", e.mustRun("rollout", "undo", "statefulset", "db", "--to-revision", "2"),
		"statefulset.apps/db rolled back to revision 2")
	if got := e.petSet("db").Spec.Template; jsonOf(t, got) != jsonOf(t, v2Set.Spec.Template) {
		t.Errorf("after undo --to-revision 2 the template is\n%s\nwant\n%s", jsonOf(t, got), jsonOf(t, v2Set.Spec.Template))
	}

	wantContains(t, "undo to a missing revision", e.mustFail("rollout", "undo", "petset", "db", "--to-revision", "4"), "no revision 4")
	wantContains(t, "undo with one revision", e.mustFail("rollout", "undo", "petset", "other"), "petset.apps/other", "no previous revision")
	wantContains(t, "undo of a missing set", e.mustFail("rollout", "undo", "petset", "nope"), "petset.apps/nope", "not found")
}

func TestRolloutHistoryReadsEitherPlaceOfThePatchDirective(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.createPetSet("db", 1)
	wantLines(t, "history without revisions", e.mustRun("rollout", "history", "petset", "db"),
		"petset.apps/db has no revisions yet: the PetSet controller has not synced default/db")
	tmpl, err := json.Marshal(&s.Spec.Template)
	if err != nil {
		t.Fatal(err)
	}
	e.addRevision(s, 1, []byte(`{"spec":{"template":`+string(tmpl)+`,"$patch":"replace"}}`), "")
	var shown v1.PodTemplateSpec
	if err := yaml.Unmarshal([]byte(e.mustRun("rollout", "history", "petset", "db", "--revision", "1")), &shown); err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, shown) != string(tmpl) {
		t.Errorf("--revision 1 printed\n%s\nwant\n%s", jsonOf(t, shown), tmpl)
	}
	e.addRevision(s, 2, []byte(`{"spec":{}}`), "")
	wantContains(t, "revision without a template", e.mustFail("rollout", "history", "petset", "db", "--revision", "2"), "revision 2", "no spec.template")
}

func TestRolloutCommandsHaveExamples(t *testing.T) {
	t.Parallel()
	e := &env{t: t, config: "/nonexistent"}
	for _, sub := range []string{"status", "history", "undo"} {
		wantContains(t, "rollout "+sub+" --help", e.mustRun("rollout", sub, "--help"), "Examples:", "kennel rollout "+sub+" ")
	}
	wantContains(t, "scale --help", e.mustRun("scale", "--help"), "Examples:", "kennel scale petset db --replicas 5")
}
