package volumebinding

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// TestStaticBinding binds claims to volumes an operator made: the
// smallest Available volume of the claim's class with room, the access
// modes and labels it asks for, and, for a claim whose pod's node is
// chosen, a node affinity that admits that node.
func TestStaticBinding(t *testing.T) {
	h := start(t, 2)
	h.createNode("node-1", true)
	h.createNode("node-2", true)
	h.createClass(classSpec("late", "example.com/none", v1.VolumeBindingWaitForFirstConsumer, nil))
	for _, tt := range staticCases() {
		t.Run(tt.name, func(t *testing.T) {
			h := *h
			h.t = t
			for _, pv := range tt.volumes {
				h.createVolume(pv)
				h.waitVolume(pv.Name, "Available", func(pv *v1.PersistentVolume) bool { return pv.Status.Phase == v1.VolumeAvailable })
			}
			h.createClaim(tt.claim)
			claim := h.waitBound(tt.claim.Name)
			h.expectBoundTo(claim, tt.want)
			if !claim.HasFinalizer(v1.FinalizerPVCProtection) {
				t.Errorf("claim finalizers = %v, want %s", claim.Finalizers, v1.FinalizerPVCProtection)
			}
			for _, pv := range tt.volumes {
				if pv.Name == tt.want {
					continue
				}
				if got, _ := h.volume(pv.Name); got.Spec.ClaimRef != nil || got.Status.Phase != v1.VolumeAvailable {
					t.Errorf("volume %s: claimRef %+v, phase %s; want it left Available", pv.Name, got.Spec.ClaimRef, got.Status.Phase)
				}
			}
		})
	}
}

// TestPreBound binds claims to the volumes reserved for them: by UID (as
// a provisioner does), with the volume's capacity, and by name (as an
// operator does), even when a smaller volume would do.
func TestPreBound(t *testing.T) {
	h := start(t, 2)
	t.Run("by uid", func(t *testing.T) {
		h := *h
		h.t = t
		c := h.createClaim(claimSpec("made", ptr("made"), "1Gi"))
		pv := volumeSpec("made-for-it", "made", "7Gi")
		pv.Spec.ClaimRef = &v1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: c.Name, UID: c.UID}
		h.createVolume(pv)
		claim := h.waitBound(c.Name)
		h.expectBoundTo(claim, "made-for-it")
		if got := claim.Status.Capacity.Storage(); got.Cmp(qty("7Gi")) != 0 {
			t.Errorf("claim capacity = %s, want the volume's 7Gi", got)
		}
	})
	t.Run("by name", func(t *testing.T) {
		h := *h
		h.t = t
		h.createVolume(volumeSpec("named-small", "named", "1Gi"))
		pv := volumeSpec("named-reserved", "named", "5Gi")
		pv.Spec.ClaimRef = &v1.ObjectReference{Namespace: ns, Name: "named"}
		h.createVolume(pv)
		h.waitVolume(pv.Name, "Available while reserved", func(pv *v1.PersistentVolume) bool { return pv.Status.Phase == v1.VolumeAvailable })
		h.createClaim(claimSpec("named", ptr("named"), "1Gi"))
		h.expectBoundTo(h.waitBound("named"), "named-reserved")
	})
	t.Run("claim names its volume", func(t *testing.T) {
		h := *h
		h.t = t
		h.createVolume(volumeSpec("asked-other", "asked", "1Gi"))
		h.createVolume(volumeSpec("asked-for", "asked", "3Gi"))
		c := claimSpec("asked", ptr("asked"), "1Gi")
		c.Spec.VolumeName = "asked-for"
		h.createClaim(c)
		h.expectBoundTo(h.waitBound("asked"), "asked-for")
	})
	t.Run("claim names a volume too small", func(t *testing.T) {
		h := *h
		h.t = t
		h.createVolume(volumeSpec("tiny", "asked", "1Gi"))
		c := claimSpec("too-big", ptr("asked"), "2Gi")
		c.Spec.VolumeName = "tiny"
		h.createClaim(c)
		ev := h.waitEvent("too-big", ReasonVolumeMismatch)
		if want := "cannot bind to volume tiny: capacity 1Gi is less than the 2Gi requested"; ev.Message != want {
			t.Errorf("event message = %q, want %q", ev.Message, want)
		}
		if pv, _ := h.volume("tiny"); pv.Spec.ClaimRef != nil {
			t.Errorf("volume tiny claimRef = %+v, want none", pv.Spec.ClaimRef)
		}
	})
}

// TestLost marks a bound claim whose volume is deleted Lost, with an
// Event.
func TestLost(t *testing.T) {
	h := start(t, 2)
	h.createVolume(volumeSpec("doomed", "lost", "1Gi"))
	h.createClaim(claimSpec("lost", ptr("lost"), "1Gi"))
	h.expectBoundTo(h.waitBound("lost"), "doomed")
	if _, err := h.volumes.Delete(h.ctx, "doomed", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitClaim("lost", "Lost", func(c *v1.PersistentVolumeClaim) bool { return c.Status.Phase == v1.ClaimLost })
	ev := h.waitEvent("lost", ReasonClaimLost)
	if want := "bound volume doomed is gone; the data on it is lost"; ev.Message != want || ev.Type != v1.EventTypeWarning {
		t.Errorf("event = %s %q, want Warning %q", ev.Type, ev.Message, want)
	}
}

// staticCase is a claim, the volumes made before it, and the one it must
// be bound to.
type staticCase struct {
	name    string
	volumes []*v1.PersistentVolume
	claim   *v1.PersistentVolumeClaim
	want    string
}

// staticCases are TestStaticBinding's cases; each has a class of its
// own, so that they share one cluster.
func staticCases() []staticCase {
	onNode := func(pv *v1.PersistentVolume, node string) *v1.PersistentVolume {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{node}}}}}}}
		return pv
	}
	labelled := func(pv *v1.PersistentVolume) *v1.PersistentVolume {
		pv.Labels = map[string]string{"tier": "fast"}
		return pv
	}
	rwx := []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce, v1.ReadWriteMany}
	return []staticCase{{
		name: "smallest that fits",
		volumes: []*v1.PersistentVolume{volumeSpec("small-1g", "small", "1Gi"), volumeSpec("small-10g", "small", "10Gi"),
			volumeSpec("small-5g", "small", "5Gi")},
		claim: claimSpec("small", ptr("small"), "3Gi"),
		want:  "small-5g",
	}, {
		name:    "same class only",
		volumes: []*v1.PersistentVolume{volumeSpec("cls-other", "other", "4Gi"), volumeSpec("cls-own", "cls", "8Gi")},
		claim:   claimSpec("cls", ptr("cls"), "2Gi"),
		want:    "cls-own",
	}, {
		name:    "no class binds to no class",
		volumes: []*v1.PersistentVolume{volumeSpec("none-classed", "cls", "1Gi"), volumeSpec("none-plain", "", "2Gi")},
		claim:   claimSpec("none", ptr(""), "1Gi"),
		want:    "none-plain",
	}, {
		name:    "access modes",
		volumes: []*v1.PersistentVolume{volumeSpec("modes-rwo", "modes", "2Gi"), volumeSpec("modes-rwx", "modes", "4Gi", rwx...)},
		claim:   claimSpec("modes", ptr("modes"), "1Gi", v1.ReadWriteMany),
		want:    "modes-rwx",
	}, {
		name:    "selector",
		volumes: []*v1.PersistentVolume{volumeSpec("sel-plain", "sel", "2Gi"), labelled(volumeSpec("sel-fast", "sel", "4Gi"))},
		claim: func() *v1.PersistentVolumeClaim {
			c := claimSpec("sel", ptr("sel"), "1Gi")
			c.Spec.Selector = &v1.LabelSelector{MatchLabels: map[string]string{"tier": "fast"}}
			return c
		}(),
		want: "sel-fast",
	}, {
		name: "node affinity admits the selected node",
		volumes: []*v1.PersistentVolume{onNode(volumeSpec("late-on-1", "late", "2Gi"), "node-1"),
			onNode(volumeSpec("late-on-2", "late", "4Gi"), "node-2")},
		claim: func() *v1.PersistentVolumeClaim {
			c := claimSpec("late", ptr("late"), "1Gi")
			c.Annotations = map[string]string{v1.AnnotationSelectedNode: "node-2"}
			return c
		}(),
		want: "late-on-2",
	}}
}
