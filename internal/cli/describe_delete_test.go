package cli_test

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

func event(name string, about v1.ObjectReference, reason, msg string, last time.Time) *v1.Event {
	return &v1.Event{
		ObjectMeta:         v1.ObjectMeta{Name: name},
		InvolvedObject:     about,
		Reason:             reason,
		Message:            msg,
		Type:               v1.EventTypeNormal,
		Source:             v1.EventSource{Component: "tester"},
		LastTimestamp:      v1.NewTime(last),
		ReportingComponent: "tester",
		ReportingInstance:  "test-1",
	}
}

func TestDescribeWithEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx()
	pod := &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: "db-0", Labels: map[string]string{"app": "db"}},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "server", Command: []string{"sleep", "1000"}}},
			Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}},
	}
	pod, err := client.For[*v1.Pod](e.tc.Admin, "default").Create(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	evs := client.For[*v1.Event](e.tc.Admin, "default")
	now := time.Now()
	ref := v1.ObjectReference{Kind: "Pod", Name: "db-0", Namespace: "default", UID: pod.UID}
	other := v1.ObjectReference{Kind: "Pod", Name: "db-1", Namespace: "default"}
	stale := v1.ObjectReference{Kind: "Pod", Name: "db-0", Namespace: "default", UID: "an-older-db-0"}
	for _, ev := range []*v1.Event{
		event("db-0.b", ref, "Started", "started the server", now.Add(-time.Minute)),
		event("db-0.a", ref, "Scheduled", "assigned to n1", now.Add(-2*time.Minute)),
		event("db-1.a", other, "Scheduled", "about another pod", now),
		event("db-0.old", stale, "Killed", "about a deleted namesake", now),
	} {
		if _, err := evs.Create(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	out := e.mustRun("describe", "pod", "db-0")
	wantContains(t, "describe", out, "Name:", "db-0", "Namespace:", "default", "Labels:", "app=db",
		"UID:", pod.UID, "Containers:", "server:", "sleep 1000", "Volumes:", "EmptyDir",
		"Events:", "Type", "Reason", "Age", "From", "Message", "assigned to n1", "started the server", "tester")
	if strings.Contains(out, "about another pod") || strings.Contains(out, "deleted namesake") {
		t.Errorf("describe shows events of other objects:\n%s", out)
	}
	if strings.Index(out, "assigned to n1") > strings.Index(out, "started the server") {
		t.Errorf("events are not sorted by last timestamp:\n%s", out)
	}

	noEvents := e.mustRun("describe", "ns/default")
	wantContains(t, "describe ns", noEvents, "Name:", "default", "Events:", "<none>")
	wantContains(t, "stderr", e.mustFail("describe", "pod", "nope"), "not found")
}

func TestDescribeOtherKindsPrintSpec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.runIn(webManifest, "apply", "-f", "-")
	wantContains(t, "describe cm", e.mustRun("describe", "cm", "web-config"), "Data:", "mode: primary")
	wantContains(t, "describe svc", e.mustRun("describe", "svc", "web"), "Spec:", "clusterIP: None")
	wantContains(t, "describe sts", e.mustRun("describe", "sts", "web"), "Replicas:", "2 desired", "Update Strategy:", "RollingUpdate")
}

func TestDeleteWaits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cms := client.For[*v1.ConfigMap](e.tc.Admin, "default")
	held := configMap("held")
	held.Finalizers = []string{"example.com/hold"}
	if _, err := cms.Create(e.ctx(), held); err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() { done <- e.run("delete", "cm", "held", "--timeout", "30s") }()

	// The command waits while the finalizer holds the object…
	testcluster.Eventually(t, 10*time.Second, "a deletion timestamp", func() bool {
		cm, err := cms.Get(e.ctx(), "held")
		return err == nil && cm.DeletionTimestamp != nil
	})
	select {
	case r := <-done:
		t.Fatalf("delete returned while a finalizer held the object: %+v", r)
	default:
	}
	// …and returns once the finalizer is released.
	releaseFinalizers(e, "held")
	select {
	case r := <-done:
		if r.code != 0 {
			t.Fatalf("delete: exit %d: %s", r.code, r.err)
		}
		wantLines(t, "delete", r.out, "configmap/held deleted")
	case <-time.After(20 * time.Second):
		t.Fatal("delete --wait did not return after the object was gone")
	}
	if _, err := cms.Get(e.ctx(), "held"); !v1.IsNotFound(err) {
		t.Errorf("object still there after delete: %v", err)
	}
}

func TestDeleteTimeoutAndNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cms := client.For[*v1.ConfigMap](e.tc.Admin, "default")
	stuck := configMap("stuck")
	stuck.Finalizers = []string{"example.com/forever"}
	if _, err := cms.Create(e.ctx(), stuck); err != nil {
		t.Fatal(err)
	}
	r := e.run("delete", "configmap/stuck", "--timeout", "300ms")
	if r.code == 0 {
		t.Fatal("delete of a held object with a short timeout succeeded")
	}
	wantLines(t, "stdout", r.out, "configmap/stuck deleted")
	wantContains(t, "stderr", r.err, "timed out", "configmap/stuck", "example.com/forever")

	wantContains(t, "stderr", e.mustFail("delete", "cm", "nope"), "not found")
	wantLines(t, "--ignore-not-found", e.mustRun("delete", "cm", "nope", "--ignore-not-found"), "")

	for _, n := range []string{"a", "b"} {
		cm := configMap(n)
		cm.Labels = map[string]string{"group": "ab"}
		if _, err := cms.Create(e.ctx(), cm); err != nil {
			t.Fatal(err)
		}
	}
	wantLines(t, "delete -l", e.mustRun("delete", "cm", "-l", "group=ab"), "configmap/a deleted", "configmap/b deleted")
}

func TestDeleteFromManifest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	path := writeFile(t, t.TempDir(), "web.yaml", webManifest)
	e.mustRun("apply", "-f", path)
	wantLines(t, "delete -f", e.mustRun("delete", "-f", path),
		"configmap/web-config deleted", "statefulset/web deleted", "service/web deleted")
	if _, err := client.For[*v1.PetSet](e.tc.Admin, "default").Get(e.ctx(), "web"); !v1.IsNotFound(err) {
		t.Errorf("petset still there: %v", err)
	}

	// Orphaning is the garbage collector's job (no controllers run here):
	// the server marks the object with the orphan finalizer.
	e.mustRun("apply", "-f", path)
	e.mustRun("delete", "petset", "web", "--cascade=orphan", "--wait=false")
	ps, err := client.For[*v1.PetSet](e.tc.Admin, "default").Get(e.ctx(), "web")
	if err != nil || !ps.HasFinalizer("orphan") {
		t.Errorf("--cascade=orphan: petset %v, err %v; want it held by the orphan finalizer", ps, err)
	}
	wantContains(t, "stderr", e.mustFail("delete", "cm", "x", "--cascade=sideways"), "--cascade")
}

// TestDeleteForceForGraceZero: removing a pod on a node before its node
// stopped it needs --force; with it the pod is gone at once, while a
// plain delete leaves it terminating for its node (there is none here).
func TestDeleteForceForGraceZero(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pods := client.For[*v1.Pod](e.tc.Admin, "default")
	for _, n := range []string{"db-0", "db-1"} {
		p := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: n},
			Spec: v1.PodSpec{NodeName: "n1", Containers: []v1.Container{{Name: "main", Command: []string{"sleep", "1000"}}}}}
		if _, err := pods.Create(e.ctx(), p); err != nil {
			t.Fatal(err)
		}
	}
	wantContains(t, "--grace-period 0", e.mustFail("delete", "pod", "db-0", "--grace-period", "0"), "--force", "node")
	if p, err := pods.Get(e.ctx(), "db-0"); err != nil || p.DeletionTimestamp != nil {
		t.Fatalf("db-0 after a refused delete: %v, deleting %v", err, p != nil && p.DeletionTimestamp != nil)
	}
	wantContains(t, "--force --grace-period 5", e.mustFail("delete", "pod", "db-0", "--force", "--grace-period", "5"), "--force")

	wantLines(t, "--force", e.mustRun("delete", "pod", "db-0", "--force"), "pod/db-0 deleted")
	if _, err := pods.Get(e.ctx(), "db-0"); !v1.IsNotFound(err) {
		t.Errorf("db-0 after delete --force: %v, want gone", err)
	}
	wantLines(t, "plain delete", e.mustRun("delete", "pod", "db-1", "--wait=false"), "pod/db-1 deleted")
	if p, err := pods.Get(e.ctx(), "db-1"); err != nil || p.DeletionTimestamp == nil {
		t.Errorf("db-1 after a plain delete: %v; want it terminating, waiting for its node", err)
	}
}
