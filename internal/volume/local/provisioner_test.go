package local_test

import (
	"context"
	"fmt"
	"github.com/kennel-dev/kennel/internal/testenv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"github.com/kennel-dev/kennel/internal/volume/local"
)

const (
	node = "node-1"
	wait = 30 * time.Second
)

// env is a control plane with node-1's provisioner running over three
// devices: data0 (roomy), small (10Mi) and iops (1000 IOPS).
type env struct {
	ctx   context.Context
	admin *client.Client
	p     *local.Provisioner
	pools map[string]string // device → pool directory
}

func device(name, pool, capacity string, iops int64) v1.NodeStorageDevice {
	d := v1.NodeStorageDevice{Name: name, Path: pool, Capacity: resource.MustParse(capacity),
		Bandwidth: resource.NewQuantity(1<<30, resource.BinarySI)}
	d.IOPS = resource.NewQuantity(iops, resource.DecimalSI)
	return d
}

func startEnv(t *testing.T) *env {
	t.Helper()
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	e := &env{ctx: ctx, admin: tc.Admin, pools: map[string]string{}}
	var devs []v1.NodeStorageDevice
	for _, d := range []struct {
		name, capacity string
		iops           int64
	}{{"data0", "100Gi", 100000}, {"small", "10Mi", 100000}, {"iops", "100Gi", 1000}} {
		e.pools[d.name] = t.TempDir()
		devs = append(devs, device(d.name, e.pools[d.name], d.capacity, d.iops))
	}
	leaveLeftovers(t, ctx, e.pools["data0"])
	// The provisioner runs with the node's own token, as in the agent:
	// it may write only the volumes carved from its node.
	nodeClient := tc.Client(tc.Token(apiserver.RoleNode, node))
	p, err := local.StartProvisioner(ctx, local.ProvisionerConfig{Client: nodeClient, NodeName: node, Devices: devs})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	e.p = p
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.Done():
		case <-time.After(wait):
			t.Error("provisioner did not stop")
		}
	})
	return e
}

// leaveLeftovers leaves in pool what a crash in the middle of Provision
// leaves: a half-built directory, and (as root) a half-built image that
// is mounted.
func leaveLeftovers(t *testing.T, ctx context.Context, pool string) {
	t.Helper()
	dir := filepath.Join(pool, local.VolumesDir)
	if err := os.MkdirAll(filepath.Join(dir, ".tmp-pvc-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 || !strings.Contains(strings.Join(local.SupportedFSTypes(), ","), "ext4") {
		return
	}
	image, err := local.Provision(ctx, t.TempDir(), "pvc-img", 4<<20, "ext4")
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".tmp-pvc-img.img")
	if err := os.Rename(image, tmp); err != nil {
		t.Fatal(err)
	}
	if _, err := local.MountImage(ctx, tmp, "ext4", filepath.Join(dir, ".tmp-pvc-img.mnt"), false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = local.Delete(context.Background(), tmp) })
}

func (e *env) class(t *testing.T, name string, reclaim v1.PersistentVolumeReclaimPolicy, params map[string]string) {
	t.Helper()
	sc := &v1.StorageClass{ObjectMeta: v1.ObjectMeta{Name: name}, Provisioner: v1.ProvisionerLocal,
		Parameters: params, ReclaimPolicy: &reclaim}
	if _, err := client.For[*v1.StorageClass](e.admin, "").Create(e.ctx, sc); err != nil {
		t.Fatal(err)
	}
}

// claim creates a claim of class selected for dev on nodeName.
func (e *env) claim(t *testing.T, name, class, size, nodeName, dev string) *v1.PersistentVolumeClaim {
	t.Helper()
	c := &v1.PersistentVolumeClaim{
		ObjectMeta: v1.ObjectMeta{Name: name, Namespace: v1.NamespaceDefault, Annotations: map[string]string{
			v1.AnnotationSelectedNode: nodeName, v1.AnnotationSelectedDevice: dev}},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			StorageClassName: &class,
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	c, err := client.For[*v1.PersistentVolumeClaim](e.admin, v1.NamespaceDefault).Create(e.ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) volume(t *testing.T, name string) (*v1.PersistentVolume, bool) {
	t.Helper()
	pv, err := client.For[*v1.PersistentVolume](e.admin, "").Get(e.ctx, name)
	if v1.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return pv, true
}

func (e *env) waitVolume(t *testing.T, c *v1.PersistentVolumeClaim) *v1.PersistentVolume {
	t.Helper()
	var pv *v1.PersistentVolume
	testcluster.Eventually(t, wait, "volume of claim "+c.Name, func() bool {
		var ok bool
		pv, ok = e.volume(t, local.VolumeName(c.UID))
		return ok
	})
	return pv
}

// event waits for an event of reason about the object with uid, in ns,
// and returns its message.
func (e *env) event(t *testing.T, ns, uid, reason string) string {
	t.Helper()
	var msg string
	testcluster.Eventually(t, wait, reason+" event", func() bool {
		l, err := client.For[*v1.Event](e.admin, ns).List(e.ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range l.Items {
			if ev.InvolvedObject.UID == uid && ev.Reason == reason {
				msg = ev.Message
				return true
			}
		}
		return false
	})
	return msg
}

// release deletes a volume's claim and marks the volume Released, as the
// binding controller does once the claim is gone.
func (e *env) release(t *testing.T, pv *v1.PersistentVolume) {
	t.Helper()
	if r := pv.Spec.ClaimRef; r != nil {
		_, err := client.For[*v1.PersistentVolumeClaim](e.admin, r.Namespace).Delete(e.ctx, r.Name, client.DeleteOptions{})
		if err != nil && !v1.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	pv, _ = e.volume(t, pv.Name)
	pv.Status.Phase = v1.VolumeReleased
	if _, err := client.For[*v1.PersistentVolume](e.admin, "").UpdateStatus(e.ctx, pv); err != nil {
		t.Fatal(err)
	}
}

func TestProvisioner(t *testing.T) {
	e := startEnv(t)
	e.class(t, "fast", v1.PersistentVolumeReclaimDelete, map[string]string{
		v1.ParamReadIOPS: "100", v1.ParamWriteIOPS: "200", v1.ParamReadBandwidth: "10Mi", v1.ParamWriteBandwidth: "20Mi"})
	e.class(t, "kept", v1.PersistentVolumeReclaimRetain, nil)
	e.class(t, "busy", v1.PersistentVolumeReclaimDelete, map[string]string{v1.ParamWriteIOPS: "600"})
	for _, tt := range []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"half-built volumes are swept at start", testSweep},
		{"a claim selected for the node gets its volume", testProvisions},
		{"a claim too big for its device fails", testTooBig},
		{"claims that together over-commit a device", testNoOverCommit},
		{"reclaim Delete removes data and volume; Retain keeps them", testReclaim},
		{"a volume naming a foreign path keeps that path", testForeignPath},
		{"a loop image volume", testImageClaim},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, e) })
	}
}

func testProvisions(t *testing.T, e *env) {
	other := e.claim(t, "elsewhere", "fast", "1Gi", "node-2", "data0")
	c := e.claim(t, "data", "fast", "1Gi", node, "data0")
	pv := e.waitVolume(t, c)

	wantAnn := map[string]string{
		v1.AnnotationProvisionedBy: v1.ProvisionerLocal, v1.AnnotationVolumeNode: node, v1.AnnotationVolumeDevice: "data0",
		v1.AnnotationQoSReadIOPS: "100", v1.AnnotationQoSWriteIOPS: "200",
		v1.AnnotationQoSReadBandwidth: "10Mi", v1.AnnotationQoSWriteBandwidth: "20Mi"}
	if !reflect.DeepEqual(pv.Annotations, wantAnn) {
		t.Errorf("annotations = %v, want %v", pv.Annotations, wantAnn)
	}
	for res, want := range map[string]string{v1.ResourceStorage: "1Gi", v1.ResourceStorageIOPS: "300", v1.ResourceStorageBandwidth: "30Mi"} {
		if got := pv.Spec.Capacity[res]; got.Cmp(resource.MustParse(want)) != 0 || len(pv.Spec.Capacity) != 3 {
			t.Errorf("capacity = %v, want %s of %s among 3", pv.Spec.Capacity, want, res)
		}
	}
	path := filepath.Join(e.pools["data0"], local.VolumesDir, pv.Name)
	if l := pv.Spec.Local; l == nil || l.Path != path || l.FSType != nil || pv.Spec.HostPath != nil || pv.Spec.FlexVolume != nil {
		t.Errorf("source = %+v, want local %s without fsType", pv.Spec.PersistentVolumeSource, path)
	}
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		t.Errorf("data directory %s: %v", path, err)
	}
	wantRef := &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: v1.NamespaceDefault, Name: "data", UID: c.UID}
	if !reflect.DeepEqual(pv.Spec.ClaimRef, wantRef) {
		t.Errorf("claimRef = %+v, want %+v", pv.Spec.ClaimRef, wantRef)
	}
	if !reflect.DeepEqual(pv.Spec.AccessModes, []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}) ||
		pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete || pv.Spec.StorageClassName != "fast" {
		t.Errorf("accessModes %v, reclaim %s, class %q; want [ReadWriteOnce], Delete, fast",
			pv.Spec.AccessModes, pv.Spec.PersistentVolumeReclaimPolicy, pv.Spec.StorageClassName)
	}
	wantAff := &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
		MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{node}}}}}}}
	if !reflect.DeepEqual(pv.Spec.NodeAffinity, wantAff) {
		t.Errorf("nodeAffinity = %+v, want %+v", pv.Spec.NodeAffinity, wantAff)
	}
	msg := e.event(t, v1.NamespaceDefault, c.UID, local.ReasonProvisioningSucceeded)
	if !strings.Contains(msg, pv.Name) || !strings.Contains(msg, "data0") {
		t.Errorf("success event %q names neither the volume nor the device", msg)
	}
	if _, ok := e.volume(t, local.VolumeName(other.UID)); ok {
		t.Error("a claim selected for another node was provisioned here")
	}
	testcluster.Eventually(t, wait, "data0's reservation", func() bool {
		for _, d := range e.p.Reservations() {
			if d.Name == "data0" {
				r := d.Reserved
				return r.Volumes == 1 && r.Capacity.Cmp(resource.MustParse("1Gi")) == 0 &&
					r.IOPS.Value() == 300 && r.Bandwidth.Cmp(resource.MustParse("30Mi")) == 0
			}
		}
		return false
	})
}

func testTooBig(t *testing.T, e *env) {
	c := e.claim(t, "huge", "kept", "20Mi", node, "small")
	msg := e.event(t, v1.NamespaceDefault, c.UID, local.ReasonProvisioningFailed)
	for _, want := range []string{"default/huge", "insufficient storage capacity", "small"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure event %q does not say %q", msg, want)
		}
	}
	if _, ok := e.volume(t, local.VolumeName(c.UID)); ok {
		t.Error("a claim too big for its device got a volume")
	}
	if got := entriesOf(t, filepath.Join(e.pools["small"], local.VolumesDir)); len(got) != 0 {
		t.Errorf("pool of small holds %v", got)
	}
}

func entriesOf(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// testNoOverCommit: two claims of 600 IOPS selected for a 1000-IOPS
// device; one is provisioned, the other waits, and gets its volume once
// the first one's is gone.
func testNoOverCommit(t *testing.T, e *env) {
	a := e.claim(t, "first", "busy", "1Gi", node, "iops")
	b := e.claim(t, "second", "busy", "1Gi", node, "iops")
	var got, waiting *v1.PersistentVolumeClaim
	testcluster.Eventually(t, wait, "one of the two claims provisioned", func() bool {
		_, okA := e.volume(t, local.VolumeName(a.UID))
		_, okB := e.volume(t, local.VolumeName(b.UID))
		switch {
		case okA && okB:
			t.Fatal("both claims were provisioned: the device is over-committed")
		case okA:
			got, waiting = a, b
		case okB:
			got, waiting = b, a
		}
		return okA || okB
	})
	msg := e.event(t, v1.NamespaceDefault, waiting.UID, local.ReasonProvisioningFailed)
	if !strings.Contains(msg, "insufficient storage IOPS") {
		t.Errorf("failure event %q does not say the IOPS are short", msg)
	}
	if _, ok := e.volume(t, local.VolumeName(waiting.UID)); ok {
		t.Fatal("both claims were provisioned: the device is over-committed")
	}
	// The first claim goes, and with it its volume.
	pv, _ := e.volume(t, local.VolumeName(got.UID))
	e.release(t, pv)
	e.waitVolume(t, waiting)
	if _, ok := e.volume(t, pv.Name); ok {
		t.Error("the released volume is still there")
	}
}

func testReclaim(t *testing.T, e *env) {
	kept := e.waitVolume(t, e.claim(t, "kept", "kept", "1Gi", node, "data0"))
	gone := e.waitVolume(t, e.claim(t, "gone", "fast", "1Gi", node, "data0"))
	// Released in this order, the kept volume is looked at before the
	// other one: once that one is gone, the kept one has been decided.
	e.release(t, kept)
	e.release(t, gone)
	testcluster.Eventually(t, wait, "the Delete volume deleted", func() bool {
		_, ok := e.volume(t, gone.Name)
		return !ok
	})
	if _, err := os.Stat(gone.Spec.Local.Path); !os.IsNotExist(err) {
		t.Errorf("data of the Delete volume still there: %v", err)
	}
	if _, ok := e.volume(t, kept.Name); !ok {
		t.Error("the Retain volume was deleted")
	}
	if _, err := os.Stat(kept.Spec.Local.Path); err != nil {
		t.Errorf("data of the Retain volume: %v", err)
	}
}

func testForeignPath(t *testing.T, e *env) {
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "precious"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	pv := &v1.PersistentVolume{
		ObjectMeta: v1.ObjectMeta{Name: "pvc-forged", Annotations: map[string]string{
			v1.AnnotationProvisionedBy: v1.ProvisionerLocal, v1.AnnotationVolumeNode: node, v1.AnnotationVolumeDevice: "data0"}},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeSource:        v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: foreign}},
			AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimDelete,
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{node}}}}}}},
		},
	}
	pv, err := client.For[*v1.PersistentVolume](e.admin, "").Create(e.ctx, pv)
	if err != nil {
		t.Fatal(err)
	}
	e.release(t, pv)
	msg := e.event(t, v1.NamespaceDefault, pv.UID, local.ReasonVolumeFailedDelete)
	if !strings.Contains(msg, foreign) {
		t.Errorf("event %q does not name the path", msg)
	}
	if _, err := os.Stat(filepath.Join(foreign, "precious")); err != nil {
		t.Errorf("foreign path touched: %v", err)
	}
	if _, ok := e.volume(t, pv.Name); !ok {
		t.Error("the forged volume's object was deleted")
	}
}

func testImageClaim(t *testing.T, e *env) {
	testenv.RequireRoot(t, "loop-image volumes")
	if !strings.Contains(strings.Join(local.SupportedFSTypes(), ","), "ext4") {
		testenv.RequireTool(t, "mkfs.ext4", "e2fsprogs")
	}
	e.class(t, "disk", v1.PersistentVolumeReclaimDelete, map[string]string{v1.ParamFSType: "ext4"})
	pv := e.waitVolume(t, e.claim(t, "disk", "disk", "16Mi", node, "data0"))
	path := filepath.Join(e.pools["data0"], local.VolumesDir, pv.Name+local.ImageSuffix)
	if l := pv.Spec.Local; l == nil || l.Path != path || l.FSType == nil || *l.FSType != "ext4" {
		t.Fatalf("source = %+v, want local %s with fsType ext4", pv.Spec.Local, path)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 16<<20 {
		t.Fatalf("image %s: %v", path, err)
	}
	e.release(t, pv)
	testcluster.Eventually(t, wait, "the image volume deleted", func() bool {
		_, ok := e.volume(t, pv.Name)
		return !ok
	})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("image still there: %v", err)
	}
}

func testSweep(t *testing.T, e *env) {
	dir := filepath.Join(e.pools["data0"], local.VolumesDir)
	testcluster.Eventually(t, wait, "leftovers in "+dir+" removed", func() bool {
		for _, name := range entriesOf(t, dir) {
			if strings.HasPrefix(name, ".tmp-") {
				return false
			}
		}
		return true
	})
}

func TestProvisionerConfigValidate(t *testing.T) {
	c, err := client.New(client.Config{Server: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	dev := func(name, path string) v1.NodeStorageDevice { return device(name, path, "1Gi", 100) }
	for _, tt := range []struct {
		name string
		cfg  local.ProvisionerConfig
		want string
	}{
		{"no client", local.ProvisionerConfig{NodeName: node}, "local: provisioner: Client is required"},
		{"no node", local.ProvisionerConfig{Client: c}, "local: provisioner: NodeName is required"},
		{"unnamed device", local.ProvisionerConfig{Client: c, NodeName: node, Devices: []v1.NodeStorageDevice{dev("", "/a")}},
			"local: provisioner: Devices[0].Name is required"},
		{"device twice", local.ProvisionerConfig{Client: c, NodeName: node, Devices: []v1.NodeStorageDevice{dev("d", "/a"), dev("d", "/b")}},
			`local: provisioner: Devices[1].Name: "d" is listed twice`},
		{"relative pool", local.ProvisionerConfig{Client: c, NodeName: node, Devices: []v1.NodeStorageDevice{dev("d", "pool")}},
			`local: provisioner: Devices[0].Path: "pool" must be an absolute path`},
		{"valid", local.ProvisionerConfig{Client: c, NodeName: node, Devices: []v1.NodeStorageDevice{dev("d", "/a")}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}
