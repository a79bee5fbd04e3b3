package volumebinding

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// wait is how long a test waits for the controller to converge.
const wait = 30 * time.Second

// ns is the namespace the tests' claims and pods live in.
const ns = v1.NamespaceDefault

// harness is a real control plane running the volume binding controller.
// There is no scheduler nor agent: tests play their part (selecting a
// node, creating a local volume, writing node status) as the admin.
type harness struct {
	t       *testing.T
	ctx     context.Context
	claims  *client.Resource[*v1.PersistentVolumeClaim]
	volumes *client.Resource[*v1.PersistentVolume]
	classes *client.Resource[*v1.StorageClass]
	nodes   *client.Resource[*v1.Node]
	pods    *client.Resource[*v1.Pod]
	events  *client.Resource[*v1.Event]
}

// start runs a cluster and the controller with workers workers. One
// worker syncs keys in the order they were queued, which lets a test
// know that a key queued before another was synced.
func start(t *testing.T, workers int) *harness {
	t.Helper()
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	vc, err := New(tc.Admin, slog.New(slog.DiscardHandler), controller.Options{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { vc.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return newHarness(t, ctx, tc.Admin)
}

// newHarness is a harness on c, whose controller the caller runs.
func newHarness(t *testing.T, ctx context.Context, c *client.Client) *harness {
	return &harness{t: t, ctx: ctx,
		claims: client.For[*v1.PersistentVolumeClaim](c, ns), volumes: client.For[*v1.PersistentVolume](c, ""),
		classes: client.For[*v1.StorageClass](c, ""), nodes: client.For[*v1.Node](c, ""),
		pods: client.For[*v1.Pod](c, ns), events: client.For[*v1.Event](c, ns)}
}

func qty(s string) resource.Quantity { return resource.MustParse(s) }

func ptr[T any](v T) *T { return &v }

// claimSpec is a claim of size in class (nil: none named) with modes
// (ReadWriteOnce when none).
func claimSpec(name string, class *string, size string, modes ...v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
	if len(modes) == 0 {
		modes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	}
	return &v1.PersistentVolumeClaim{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeClaimSpec{AccessModes: modes, StorageClassName: class,
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: qty(size)}}},
	}
}

// volumeSpec is a hostPath volume of size in class with modes
// (ReadWriteOnce when none).
func volumeSpec(name, class, size string, modes ...v1.PersistentVolumeAccessMode) *v1.PersistentVolume {
	if len(modes) == 0 {
		modes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	}
	return &v1.PersistentVolume{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			Capacity:               v1.ResourceList{v1.ResourceStorage: qty(size)},
			PersistentVolumeSource: v1.PersistentVolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/srv/" + name}},
			AccessModes:            modes, StorageClassName: class,
		},
	}
}

// classSpec is a class of provisioner binding in mode with params.
func classSpec(name, provisioner string, mode v1.VolumeBindingMode, params map[string]string) *v1.StorageClass {
	return &v1.StorageClass{ObjectMeta: v1.ObjectMeta{Name: name}, Provisioner: provisioner,
		VolumeBindingMode: &mode, Parameters: params}
}

func (h *harness) createClaim(c *v1.PersistentVolumeClaim) *v1.PersistentVolumeClaim {
	h.t.Helper()
	got, err := h.claims.Create(h.ctx, c)
	if err != nil {
		h.t.Fatalf("create claim %s: %v", c.Name, err)
	}
	return got
}

func (h *harness) createVolume(pv *v1.PersistentVolume) *v1.PersistentVolume {
	h.t.Helper()
	got, err := h.volumes.Create(h.ctx, pv)
	if err != nil {
		h.t.Fatalf("create volume %s: %v", pv.Name, err)
	}
	return got
}

func (h *harness) createClass(c *v1.StorageClass) {
	h.t.Helper()
	if _, err := h.classes.Create(h.ctx, c); err != nil {
		h.t.Fatalf("create class %s: %v", c.Name, err)
	}
}

// device is a storage device of capacity size (and iops, when not "").
func device(name, size, iops string) v1.NodeStorageDevice {
	d := v1.NodeStorageDevice{Name: name, Path: "/pools/" + name, Capacity: qty(size)}
	if iops != "" {
		d.IOPS = ptr(qty(iops))
	}
	return d
}

// createNode registers a node labelled with its hostname, Ready or not,
// with devices, as its agent would.
func (h *harness) createNode(name string, ready bool, devices ...v1.NodeStorageDevice) {
	h.t.Helper()
	n, err := h.nodes.Create(h.ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: name,
		Labels: map[string]string{v1.LabelHostname: name}}})
	if err != nil {
		h.t.Fatalf("create node %s: %v", name, err)
	}
	status := v1.ConditionFalse
	if ready {
		status = v1.ConditionTrue
	}
	n.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: status}}
	n.Status.Storage = devices
	if _, err := h.nodes.UpdateStatus(h.ctx, n); err != nil {
		h.t.Fatalf("node %s: status: %v", name, err)
	}
}

func (h *harness) claim(name string) (*v1.PersistentVolumeClaim, bool) {
	h.t.Helper()
	c, err := h.claims.Get(h.ctx, name)
	if v1.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		h.t.Fatalf("get claim %s: %v", name, err)
	}
	return c, true
}

func (h *harness) volume(name string) (*v1.PersistentVolume, bool) {
	h.t.Helper()
	pv, err := h.volumes.Get(h.ctx, name)
	if v1.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		h.t.Fatalf("get volume %s: %v", name, err)
	}
	return pv, true
}

// waitClaim waits until the claim exists and satisfies cond.
func (h *harness) waitClaim(name, what string, cond func(*v1.PersistentVolumeClaim) bool) *v1.PersistentVolumeClaim {
	h.t.Helper()
	var c *v1.PersistentVolumeClaim
	testcluster.Eventually(h.t, wait, "claim "+name+": "+what, func() bool {
		var ok bool
		c, ok = h.claim(name)
		return ok && cond(c)
	})
	return c
}

// waitBound waits until the claim is Bound and returns it.
func (h *harness) waitBound(name string) *v1.PersistentVolumeClaim {
	h.t.Helper()
	return h.waitClaim(name, "Bound", func(c *v1.PersistentVolumeClaim) bool {
		return c.Status.Phase == v1.ClaimBound && c.Spec.VolumeName != ""
	})
}

// waitVolume waits until the volume exists and satisfies cond.
func (h *harness) waitVolume(name, what string, cond func(*v1.PersistentVolume) bool) *v1.PersistentVolume {
	h.t.Helper()
	var pv *v1.PersistentVolume
	testcluster.Eventually(h.t, wait, "volume "+name+": "+what, func() bool {
		var ok bool
		pv, ok = h.volume(name)
		return ok && cond(pv)
	})
	return pv
}

// waitGone waits until get finds nothing.
func (h *harness) waitGone(what string, get func() bool) {
	h.t.Helper()
	testcluster.Eventually(h.t, wait, what+" gone", func() bool { return !get() })
}

// waitEvent waits for an Event of reason on the claim and returns it.
func (h *harness) waitEvent(claim, reason string) *v1.Event {
	h.t.Helper()
	var found *v1.Event
	testcluster.Eventually(h.t, wait, "event "+reason+" on claim "+claim, func() bool {
		found = h.event(claim, reason)
		return found != nil
	})
	return found
}

// event is the Event of reason on the claim, if any.
func (h *harness) event(claim, reason string) *v1.Event {
	h.t.Helper()
	l, err := h.events.List(h.ctx, client.ListOptions{})
	if err != nil {
		h.t.Fatalf("list events: %v", err)
	}
	for _, e := range l.Items {
		if e.InvolvedObject.Kind == "PersistentVolumeClaim" && e.InvolvedObject.Name == claim && e.Reason == reason {
			return e
		}
	}
	return nil
}

// deleteClaim deletes a claim (its finalizer may keep it a while).
func (h *harness) deleteClaim(name string) {
	h.t.Helper()
	if _, err := h.claims.Delete(h.ctx, name, client.DeleteOptions{}); err != nil {
		h.t.Fatalf("delete claim %s: %v", name, err)
	}
}

// podUsing is a pod, not yet scheduled, whose volume is the claim.
func podUsing(name, claim string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.PodSpec{
			Containers: []v1.Container{{Name: "app", Image: "app:1"}},
			Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
				PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
		},
	}
}

// expectBoundTo checks that claim and pv are bound to each other, with
// the claim's status from the volume.
func (h *harness) expectBoundTo(claim *v1.PersistentVolumeClaim, pvName string) {
	h.t.Helper()
	if claim.Spec.VolumeName != pvName {
		h.t.Fatalf("claim %s bound to %q, want %q", claim.Name, claim.Spec.VolumeName, pvName)
	}
	pv := h.waitVolume(pvName, "phase Bound", func(pv *v1.PersistentVolume) bool { return pv.Status.Phase == v1.VolumeBound })
	if r := pv.Spec.ClaimRef; r == nil || r.UID != claim.UID || r.Name != claim.Name || r.Namespace != claim.Namespace {
		h.t.Fatalf("volume %s claimRef = %+v, want claim %s/%s uid %s", pvName, r, claim.Namespace, claim.Name, claim.UID)
	}
	if got, want := claim.Status.Capacity.Storage(), pv.Spec.Capacity.Storage(); got.Cmp(*want) != 0 {
		h.t.Errorf("claim %s status capacity = %s, want the volume's %s", claim.Name, got, want)
	}
	if len(claim.Status.AccessModes) != len(pv.Spec.AccessModes) {
		h.t.Errorf("claim %s status accessModes = %v, want the volume's %v", claim.Name, claim.Status.AccessModes, pv.Spec.AccessModes)
	}
}
