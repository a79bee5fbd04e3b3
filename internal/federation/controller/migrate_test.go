package controller_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"k8s.io/apimachinery/pkg/api/resource"
)

// reportMigration plays a member's report of a migration on its Work.
func (e *env) reportMigration(cluster string, rep v1.WorkMigration) {
	e.t.Helper()
	wk := e.work(cluster, "default", "petset", "db")
	wk.Status.Migration = &rep
	wk.ResourceVersion = "" // as the member agent, the only writer of a Work's status
	if _, err := client.For[*v1.Work](e.c, wk.Namespace).UpdateStatus(e.ctx, wk); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) migration(name string) *v1.Migration {
	m, err := client.For[*v1.Migration](e.c, "default").Get(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) waitPhase(name string, phase v1.MigrationPhase) *v1.Migration {
	e.t.Helper()
	var m *v1.Migration
	defer func() {
		if e.t.Failed() && m != nil {
			e.t.Logf("migration %s last seen: phase %s, message %q", name, m.Status.Phase, m.Status.Message)
		}
	}()
	e.eventually("migration "+name+" "+string(phase), func() bool {
		m = e.migration(name)
		return m.Status.Phase == phase
	})
	return m
}

// orders reads a Work's migration annotations.
func orders(wk *v1.Work) (out *v1.MigrateOut, in *v1.MigrateIn) {
	var m v1.PetSet
	if json.Unmarshal(wk.Spec.Manifest, &m) != nil {
		return nil, nil
	}
	if s := m.Annotations[v1.AnnotationMigrateOut]; s != "" {
		out = &v1.MigrateOut{}
		_ = json.Unmarshal([]byte(s), out)
	}
	if s := m.Annotations[v1.AnnotationMigrateIn]; s != "" {
		in = &v1.MigrateIn{}
		_ = json.Unmarshal([]byte(s), in)
	}
	return out, in
}

// TestMigrationMovesAPetThroughItsPhases plays both members of a
// migration of db-2 from a (db-0…2) to b (none): the pet leaves a's share
// at once and enters b's only once a reports it stopped and its volume
// offered; b gets the export and the token whose hash a was given; the
// copy's progress shows; a deletes the old claim only after b runs the
// pet; the new assignment sticks afterwards.
func TestMigrationMovesAPetThroughItsPhases(t *testing.T) {
	e := start(t, time.Minute)
	e.addCluster("a", "eu-west", "eu-west-1", gdpr("gdpr"))
	e.addCluster("b", "eu-west", "eu-west-2", gdpr("gdpr"))
	ps := petSet("db", 3)
	ps.Spec.PodManagementPolicy = v1.ParallelPodManagement
	ps.Spec.VolumeClaimTemplates = []v1.PersistentVolumeClaim{{ObjectMeta: v1.ObjectMeta{Name: "data"},
		Spec: v1.PersistentVolumeClaimSpec{AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}}}}}
	e.create(ps, "PetSet")
	e.create(divided(w("a", 1), w("b", 0)), "Placement")
	e.eventually("a runs db-0…2", func() bool {
		wa, wb := e.work("a", "default", "petset", "db"), e.work("b", "default", "petset", "db")
		return wa != nil && wb != nil && share(wa) == petSetShare{3, 0} && share(wb).replicas == 0
	})
	e.report(e.work("a", "default", "petset", "db"), 3, 3)

	e.create(&v1.Migration{ObjectMeta: v1.ObjectMeta{Name: "db-2-to-b"}, Spec: v1.MigrationSpec{PetSet: "db", Ordinal: 2, To: "b"}}, "Migration")
	m := e.waitPhase("db-2-to-b", v1.MigrationStopping)
	if m.Status.From != "a" || m.Status.Pet != "db-2" {
		t.Fatalf("status %+v, want from a, pet db-2", m.Status)
	}
	id, tok := string(m.UID), m.Annotations["kennel.io/migration-token"]
	sum := sha256.Sum256([]byte(tok))
	e.eventually("a is told to stop db-2 and offer its claims", func() bool {
		wa := e.work("a", "default", "petset", "db")
		out, _ := orders(wa)
		return share(wa) == petSetShare{2, 0} && out != nil && out.ID == id && out.Ordinal == 2 && out.TokenSHA256 == hex.EncodeToString(sum[:]) && !out.Done
	})
	if s := share(e.work("b", "default", "petset", "db")); s.replicas != 0 {
		t.Fatalf("b got %d replicas while db-2 may still run in a", s.replicas)
	}

	// a: the pet still runs; then it stopped, its claim offered.
	e.reportMigration("a", v1.WorkMigration{ID: id, Message: "waiting for pod db-2 to stop"})
	e.eventually("the message shows", func() bool { return strings.Contains(e.migration("db-2-to-b").Status.Message, "waiting for pod db-2") })
	if s := share(e.work("b", "default", "petset", "db")); s.replicas != 0 {
		t.Fatalf("b got %d replicas before a reported db-2 stopped", s.replicas)
	}
	export := v1.VolumeExport{ID: id, Claim: "data-db-2", URL: "https://10.0.0.1:10250/volumes/default/data-db-2", CertSHA256: "ab12"}
	e.reportMigration("a", v1.WorkMigration{ID: id, Stopped: true, Exports: []v1.VolumeExport{export, {ID: id, Claim: "never-made-db-2"}}})
	e.waitPhase("db-2-to-b", v1.MigrationCopying)
	e.eventually("b is given db-2 with where to fill its claim from", func() bool {
		wb := e.work("b", "default", "petset", "db")
		_, in := orders(wb)
		return share(wb) == petSetShare{1, 2} && in != nil && in.ID == id && len(in.Sources) == 1 && in.Sources["data-db-2"] ==
			v1.RestoreSource{ID: id, URL: export.URL, CertSHA256: "ab12", Token: tok}
	})

	e.reportMigration("b", v1.WorkMigration{ID: id, Restores: []v1.VolumeRestoreStatus{{Claim: "data-db-2", ID: id, BytesDone: 10, BytesTotal: 40}}})
	e.eventually("the copy's progress shows", func() bool {
		st := e.migration("db-2-to-b").Status
		return st.BytesDone == 10 && st.BytesTotal == 40 && len(st.Volumes) == 1
	})
	e.reportMigration("b", v1.WorkMigration{ID: id, Running: true, Restores: []v1.VolumeRestoreStatus{{Claim: "data-db-2", ID: id, BytesDone: 40, BytesTotal: 40, Done: true}}})
	e.waitPhase("db-2-to-b", v1.MigrationCleanup)
	e.eventually("a is told to delete the old claim", func() bool {
		out, _ := orders(e.work("a", "default", "petset", "db"))
		return out != nil && out.Done
	})
	e.reportMigration("a", v1.WorkMigration{ID: id, Stopped: true, ClaimsDeleted: true})
	m = e.waitPhase("db-2-to-b", v1.MigrationSucceeded)
	if m.Status.CompletionTime == nil {
		t.Fatal("no completion time")
	}
	e.eventually("the orders are gone and the new assignment sticks", func() bool {
		wa, wb := e.work("a", "default", "petset", "db"), e.work("b", "default", "petset", "db")
		oa, _ := orders(wa)
		_, ib := orders(wb)
		return oa == nil && ib == nil && share(wa) == petSetShare{2, 0} && share(wb) == petSetShare{1, 2}
	})

	// db-0 is not at an edge next to b's range (db-2): refused, saying why.
	e.create(&v1.Migration{ObjectMeta: v1.ObjectMeta{Name: "db-0-to-b"}, Spec: v1.MigrationSpec{PetSet: "db", Ordinal: 0, To: "b"}}, "Migration")
	m = e.waitPhase("db-0-to-b", v1.MigrationFailed)
	if !strings.Contains(m.Status.Message, "contiguous range") {
		t.Fatalf("message %q does not say why", m.Status.Message)
	}
	// Deleted while under way, a migration still ends, then goes.
	e.create(&v1.Migration{ObjectMeta: v1.ObjectMeta{Name: "db-1-to-b"}, Spec: v1.MigrationSpec{PetSet: "db", Ordinal: 1, To: "b"}}, "Migration")
	id = string(e.waitPhase("db-1-to-b", v1.MigrationStopping).UID)
	if _, err := client.For[*v1.Migration](e.c, "default").Delete(e.ctx, "db-1-to-b", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the deleted migration says it ends first", func() bool {
		m := e.migration("db-1-to-b")
		return m.DeletionTimestamp != nil && strings.Contains(m.Status.Message, "ends first")
	})
	e.reportMigration("a", v1.WorkMigration{ID: id, Stopped: true, Exports: []v1.VolumeExport{{ID: id, Claim: "data-db-1", URL: "https://x/", CertSHA256: "ab"}}})
	e.waitPhase("db-1-to-b", v1.MigrationCopying)
	e.eventually("b is given db-1", func() bool { return share(e.work("b", "default", "petset", "db")) == petSetShare{2, 1} })
	e.reportMigration("b", v1.WorkMigration{ID: id, Running: true})
	e.waitPhase("db-1-to-b", v1.MigrationCleanup)
	e.reportMigration("a", v1.WorkMigration{ID: id, Stopped: true, ClaimsDeleted: true})
	e.eventually("the deleted migration goes once it ended", func() bool {
		_, err := client.For[*v1.Migration](e.c, "default").Get(e.ctx, "db-1-to-b")
		return v1.IsNotFound(err)
	})

	e.create(&v1.Migration{ObjectMeta: v1.ObjectMeta{Name: "db-1-to-x"}, Spec: v1.MigrationSpec{PetSet: "db", Ordinal: 1, To: "x"}}, "Migration")
	if m = e.waitPhase("db-1-to-x", v1.MigrationFailed); !strings.Contains(m.Status.Message, `cluster "x"`) {
		t.Fatalf("message %q does not name the cluster", m.Status.Message)
	}
	e.create(&v1.Migration{ObjectMeta: v1.ObjectMeta{Name: "db-7-to-b"}, Spec: v1.MigrationSpec{PetSet: "db", Ordinal: 7, To: "b"}}, "Migration")
	if m = e.waitPhase("db-7-to-b", v1.MigrationFailed); !strings.Contains(m.Status.Message, "no pet 7") {
		t.Fatalf("message %q does not say the pet does not exist", m.Status.Message)
	}
}
