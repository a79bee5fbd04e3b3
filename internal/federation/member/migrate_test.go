package member_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

func withData(ps *v1.PetSet) *v1.PetSet {
	ps.Spec.VolumeClaimTemplates = []v1.PersistentVolumeClaim{{ObjectMeta: v1.ObjectMeta{Name: "data", Labels: map[string]string{"tier": "db"}},
		Spec: v1.PersistentVolumeClaimSpec{AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}}}}}
	return ps
}

func annotate(obj v1.Object, key string, v any) {
	b, _ := json.Marshal(v)
	m := obj.GetObjectMeta()
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[key] = string(b)
}

func (e *env) migrationReport(name string, ok func(*v1.WorkMigration) bool) *v1.WorkMigration {
	e.t.Helper()
	var rep *v1.WorkMigration
	testcluster.Eventually(e.t, wait, "Work "+name+"'s migration report", func() bool {
		w := get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace("east"), name)
		rep = w.Status.Migration
		return rep != nil && ok(rep)
	})
	return rep
}

func rv(obj v1.Object) int64 {
	n, _ := strconv.ParseInt(obj.GetObjectMeta().ResourceVersion, 10, 64)
	return n
}

// TestMigrateIn: a PetSet ordered to take pet db-2 in gets its claim made
// first, marked to be filled from the export, and the order (with its
// token) is not on the member's PetSet; the member reports the copy's
// progress from the pod and Running once the pod is Ready with it done.
func TestMigrateIn(t *testing.T) {
	e := newEnv(t)
	e.memberNamespace("east")
	e.startAgent(e.config("east"))
	ps := withData(petSet("default", "db", 1))
	start := int32(2)
	ps.Spec.Ordinals = &v1.PetSetOrdinals{Start: start}
	src := v1.RestoreSource{ID: "m1", URL: "https://10.0.0.9:10250/volumes/default/data-db-2", CertSHA256: "ab", Token: "secret"}
	annotate(ps, v1.AnnotationMigrateIn, v1.MigrateIn{ID: "m1", Ordinal: 2, Sources: map[string]v1.RestoreSource{"data-db-2": src}})
	e.putWork("east", "db", ps)
	e.workApplied("east", "db")
	c := get[*v1.PersistentVolumeClaim](e, e.mem.Admin, "default", "data-db-2")
	set := get[*v1.PetSet](e, e.mem.Admin, "default", "db")
	if c == nil || set == nil {
		t.Fatalf("claim %v, petset %v: want both", c, set)
	}
	var got v1.RestoreSource
	if err := json.Unmarshal([]byte(c.Annotations[v1.AnnotationRestoreFrom]), &got); err != nil || got != src {
		t.Fatalf("claim's restore-from %q, want %+v", c.Annotations[v1.AnnotationRestoreFrom], src)
	}
	if c.Labels["app"] != "db" || c.Labels["tier"] != "db" {
		t.Fatalf("claim labels %v, want the template's and the selector's", c.Labels)
	}
	if rv(c) >= rv(set) {
		t.Fatalf("the claim (rv %d) was not made before the PetSet (rv %d)", rv(c), rv(set))
	}
	if _, ok := set.Annotations[v1.AnnotationMigrateIn]; ok {
		t.Fatal("the member's PetSet carries the migration order and its token")
	}
	e.migrationReport("db", func(r *v1.WorkMigration) bool {
		return r.ID == "m1" && !r.Running && strings.Contains(r.Message, "waiting for pod db-2")
	})

	pod := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "db-2", Namespace: "default"}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "x"}}}}
	pod = e.create(e.mem.Admin, pod).(*v1.Pod)
	pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Message: "0/2 nodes are available: 2 insufficient storage"}}
	pod = e.podStatus(pod)
	e.migrationReport("db", func(r *v1.WorkMigration) bool {
		return strings.Contains(r.Message, "not scheduled: 0/2 nodes are available")
	})
	pod.Status.Conditions = nil
	pod.Status.VolumeRestores = []v1.VolumeRestoreStatus{{Claim: "data-db-2", ID: "m1", BytesDone: 5, BytesTotal: 10}}
	pod = e.podStatus(pod)
	e.migrationReport("db", func(r *v1.WorkMigration) bool {
		return len(r.Restores) == 1 && r.Restores[0].BytesDone == 5 && !r.Running
	})
	pod.Status.VolumeRestores[0].BytesDone, pod.Status.VolumeRestores[0].Done = 10, true
	pod.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue}}
	e.podStatus(pod)
	e.migrationReport("db", func(r *v1.WorkMigration) bool { return r.Running })
	testcluster.Eventually(t, wait, "the spent restore order (and its token) leaves the claim", func() bool {
		c := get[*v1.PersistentVolumeClaim](e, e.mem.Admin, "default", "data-db-2")
		_, has := c.Annotations[v1.AnnotationRestoreFrom]
		return !has
	})
	// The Work still says migrate in until the federation ends the
	// migration: the order is not put back.
	e.putWork("east", "db", ps)
	e.workApplied("east", "db")
	e.migrationReport("db", func(r *v1.WorkMigration) bool { return r.Running })
	if c := get[*v1.PersistentVolumeClaim](e, e.mem.Admin, "default", "data-db-2"); c.Annotations[v1.AnnotationRestoreFrom] != "" {
		t.Fatal("the spent restore order was put back on the claim")
	}
}

func (e *env) podStatus(p *v1.Pod) *v1.Pod {
	e.t.Helper()
	got, err := client.For[*v1.Pod](e.mem.Admin, p.Namespace).UpdateStatus(e.ctx, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// TestMigrateOut: a PetSet ordered to let db-2 go reports it stopped only
// once the member's PetSet leaves it out and its pod is gone; then its
// claim is offered (the token hash on it) at the agent of the node that
// holds the volume; told the pet runs elsewhere, the member deletes that
// claim and not another.
func TestMigrateOut(t *testing.T) {
	e := newEnv(t)
	e.memberNamespace("east")
	e.startAgent(e.config("east"))
	withLogs := func(ps *v1.PetSet) *v1.PetSet {
		ps = withData(ps)
		logs := ps.Spec.VolumeClaimTemplates[0]
		logs.Name = "logs"
		ps.Spec.VolumeClaimTemplates = append(ps.Spec.VolumeClaimTemplates, logs)
		return ps
	}
	e.putWork("east", "db", withLogs(petSet("default", "db", 3)))
	e.workApplied("east", "db")

	node := e.create(e.mem.Admin, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n1", Labels: map[string]string{v1.LabelHostname: "n1"},
		Annotations: map[string]string{v1.AnnotationAgentCertSHA256: "cafe"}}}).(*v1.Node)
	node.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "10.1.2.3"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = 10250
	if _, err := client.For[*v1.Node](e.mem.Admin, "").UpdateStatus(e.ctx, node); err != nil {
		t.Fatal(err)
	}
	path := "/srv/pv-1"
	e.create(e.mem.Admin, &v1.PersistentVolume{ObjectMeta: v1.ObjectMeta{Name: "pv-1"}, Spec: v1.PersistentVolumeSpec{
		Capacity:               v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
		AccessModes:            []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
		PersistentVolumeSource: v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: path}},
		NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{"n1"}}}}}}},
	}})
	for _, n := range []string{"data-db-1", "data-db-2"} {
		e.create(e.mem.Admin, &v1.PersistentVolumeClaim{ObjectMeta: v1.ObjectMeta{Name: n, Namespace: "default"}, Spec: v1.PersistentVolumeClaimSpec{
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}, VolumeName: "pv-1",
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}}}})
	}
	e.create(e.mem.Admin, &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "db-2", Namespace: "default"}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "x"}}}})

	out := v1.MigrateOut{ID: "m2", Ordinal: 2, TokenSHA256: "0123abcd"}
	two := withLogs(petSet("default", "db", 2))
	annotate(two, v1.AnnotationMigrateOut, out)
	e.putWork("east", "db", two)
	e.migrationReport("db", func(r *v1.WorkMigration) bool {
		return r.ID == "m2" && !r.Stopped && strings.Contains(r.Message, "waiting for pod db-2 to stop")
	})
	if c := get[*v1.PersistentVolumeClaim](e, e.mem.Admin, "default", "data-db-2"); c.Annotations[v1.AnnotationExportTokenSHA256] != "" {
		t.Fatal("the claim was offered while its pet still ran")
	}
	if _, err := client.For[*v1.Pod](e.mem.Admin, "default").Delete(e.ctx, "db-2", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rep := e.migrationReport("db", func(r *v1.WorkMigration) bool { return r.Stopped && len(r.Exports) == 2 })
	want := []v1.VolumeExport{{ID: "m2", Claim: "data-db-2", URL: "https://10.1.2.3:10250/volumes/default/data-db-2", CertSHA256: "cafe"},
		{ID: "m2", Claim: "logs-db-2"}} // never made: nothing to copy
	if !slices.Equal(rep.Exports, want) {
		t.Fatalf("exports %+v, want %+v", rep.Exports, want)
	}
	if c := get[*v1.PersistentVolumeClaim](e, e.mem.Admin, "default", "data-db-2"); c.Annotations[v1.AnnotationExportTokenSHA256] != "0123abcd" {
		t.Fatalf("the claim's export token hash is %q", c.Annotations[v1.AnnotationExportTokenSHA256])
	}

	out.Done = true
	annotate(two, v1.AnnotationMigrateOut, out)
	e.putWork("east", "db", two)
	e.migrationReport("db", func(r *v1.WorkMigration) bool { return r.ClaimsDeleted })
	testcluster.Eventually(t, wait, "the offered claim is deleted", func() bool {
		return get[*v1.PersistentVolumeClaim](e, e.mem.Admin, "default", "data-db-2") == nil
	})
	if get[*v1.PersistentVolumeClaim](e, e.mem.Admin, "default", "data-db-1") == nil {
		t.Fatal("the claim of a pet that did not move was deleted")
	}
}
