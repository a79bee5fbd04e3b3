package member_test

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/federation/member"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// TestStrayPetsStopBeforeTheFenceRenews: a member whose agent was down
// while the federation moved its pet away (the Work now gives it none)
// still has the pet's pod, its processes killed by the fence watchdog.
// Back, the agent re-applies the Work, deletes the pod its PetSet no
// longer keeps and publishes the renewal — which lets node agents start
// fenced containers again — only once that pod is gone.
func TestStrayPetsStopBeforeTheFenceRenews(t *testing.T) {
	e := newEnv(t)
	e.memberNamespace(east)
	e.addNodes()
	fenceable := func(replicas int32) *v1.PetSet {
		ps := petSet("apps", "db", replicas)
		ps.Spec.Ordinals = &v1.PetSetOrdinals{Start: 2}
		ps.Spec.Template.Labels[member.LabelFenced] = "true"
		ps.Spec.Template.Annotations = map[string]string{member.AnnotationFencingPeriod: "15s"}
		return ps
	}
	e.putWork(east, "db", fenceable(1))
	stop := e.startAgent(e.config(east))
	e.workApplied(east, "db")
	renewed := func() string {
		cm := get[*v1.ConfigMap](e, e.mem.Admin, v1.NamespaceSystem, member.FenceConfigMap)
		if cm == nil {
			return ""
		}
		return cm.Data[member.FenceRenewed]
	}
	testcluster.Eventually(t, wait, "a renewal published", func() bool { return renewed() != "" })
	set := get[*v1.PetSet](e, e.mem.Admin, "apps", "db")
	pet := runningPod("apps", "db-2", 30, map[string]string{"app": "db", member.LabelFenced: "true"})
	pet.OwnerReferences = []v1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: set.UID, Controller: ptr(true)}}
	e.create(e.mem.Admin, pet)
	stop()

	e.putWork(east, "db", fenceable(0)) // the federation moved db-2 away
	before := renewed()
	e.startAgent(e.config(east))
	testcluster.Eventually(t, wait, "the stray pet deleted", func() bool {
		p := get[*v1.Pod](e, e.mem.Admin, "apps", "db-2")
		return p != nil && p.DeletionTimestamp != nil
	})
	if got := renewed(); got != before {
		t.Fatalf("the renewal %s was published while the stray pet was still there (before: %s)", got, before)
	}
	if ps := get[*v1.PetSet](e, e.mem.Admin, "apps", "db"); *ps.Spec.Replicas != 0 {
		t.Fatalf("the PetSet has %d replicas, want the Work's 0", *ps.Spec.Replicas)
	}
	// Its node's agent stops it and removes it: the renewal follows.
	zero := int64(0)
	if _, err := client.For[*v1.Pod](e.mem.Admin, "apps").Delete(e.ctx, "db-2", client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, wait, "a new renewal published", func() bool { return renewed() != before })
}

func ptr[T any](v T) *T { return &v }
