package scheduler_test

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/scheduler"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

func TestWaitForFirstConsumerClaimGoesToTheDeviceWithHeadroom(t *testing.T) {
	e := newEnv(t)
	// "full" and "slow" have far more cpu and would win on score; only
	// "roomy" has 200 IOPS left on a device.
	e.addNode(nodeSpec{name: "full", cpu: "16", memory: "64Gi", storage: []v1.NodeStorageDevice{storageDevice("nvme0", "1000")}})
	e.addNode(nodeSpec{name: "slow", cpu: "16", memory: "64Gi", storage: []v1.NodeStorageDevice{storageDevice("hdd0", "100")}})
	e.addNode(nodeSpec{name: "roomy", cpu: "2", memory: "4Gi", storage: []v1.NodeStorageDevice{storageDevice("hdd0", "100"), storageDevice("nvme1", "500")}})
	e.createVolume(carvedVolume("pv-old", "full", "nvme0", "900"))
	e.createClass(localWFFC("fast", v1.ParamReadIOPS, "100", v1.ParamWriteIOPS, "100"))
	e.createClaim(newClaim("data", "fast"))
	e.run(scheduler.Config{})

	e.createPod(podWithClaims("db", "data"))
	if node := e.waitBound("db"); node != "roomy" {
		t.Fatalf("db bound to %s, want roomy", node)
	}
	c := e.getClaim("data")
	if got := c.Annotations[v1.AnnotationSelectedNode] + "/" + c.Annotations[v1.AnnotationSelectedDevice]; got != "roomy/nvme1" {
		t.Fatalf("claim selected %q, want roomy/nvme1", got)
	}
}

// TestBurstOfClaimsNeverOverCommitsIOPS creates 8 pods at once, each with
// its own claim of 200 IOPS, for devices of 600 and 400 IOPS. Decisions
// and claim writes overlap (4 workers) and run ahead of the informers;
// the assumed claims and PreBind's re-check keep the devices whole.
func TestBurstOfClaimsNeverOverCommitsIOPS(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "a", cpu: "16", memory: "64Gi", storage: []v1.NodeStorageDevice{storageDevice("d0", "600")}})
	e.addNode(nodeSpec{name: "b", cpu: "16", memory: "64Gi", storage: []v1.NodeStorageDevice{storageDevice("d0", "400")}})
	e.createClass(localWFFC("fast", v1.ParamWriteIOPS, "200"))
	const n = 8
	for i := range n {
		e.createClaim(newClaim(fmt.Sprintf("claim-%d", i), "fast"))
	}
	e.run(scheduler.Config{Workers: 4})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := e.pods().Create(e.ctx, podWithClaims(fmt.Sprintf("burst-%d", i), fmt.Sprintf("claim-%d", i))); err != nil {
				t.Errorf("create burst-%d: %v", i, err)
			}
		})
	}
	wg.Wait()
	const noIOPS = "0/2 nodes are available: 2 insufficient storage IOPS."
	var bound, waiting []string
	testcluster.Eventually(t, waitFor, "every pod bound or waiting for IOPS", func() bool {
		bound, waiting = e.splitBy(noIOPS)
		return len(bound)+len(waiting) == n
	})
	if len(bound) != 5 {
		t.Fatalf("%d pods bound with room for 5: %v", len(bound), bound)
	}
	perNode := map[string]int{}
	for _, name := range bound {
		pod := e.getPod(name)
		c := e.getClaim(pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName)
		if c.Annotations[v1.AnnotationSelectedNode] != pod.Spec.NodeName || c.Annotations[v1.AnnotationSelectedDevice] != "d0" {
			t.Fatalf("pod %s on %s, its claim selected %v", name, pod.Spec.NodeName, c.Annotations)
		}
		perNode[pod.Spec.NodeName]++
	}
	if perNode["a"] != 3 || perNode["b"] != 2 {
		t.Fatalf("claims per node = %v, want 3 on a (600 IOPS) and 2 on b (400)", perNode)
	}
	for _, name := range waiting {
		c := e.getClaim(e.getPod(name).Spec.Volumes[0].PersistentVolumeClaim.ClaimName)
		if c.Annotations[v1.AnnotationSelectedNode] != "" {
			t.Fatalf("pod %s waits, yet its claim was selected: %v", name, c.Annotations)
		}
	}
}

func TestBoundLocalVolumePinsPodToItsNode(t *testing.T) {
	e := newEnv(t)
	// node-1 is the emptiest, node-3 alone has IOPS to spare.
	e.addNode(nodeSpec{name: "node-1", cpu: "32", memory: "64Gi", storage: []v1.NodeStorageDevice{storageDevice("d0", "100")}})
	e.addNode(nodeSpec{name: "node-2", cpu: "4", memory: "8Gi", storage: []v1.NodeStorageDevice{storageDevice("d0", "100")}})
	e.addNode(nodeSpec{name: "node-3", cpu: "4", memory: "8Gi", storage: []v1.NodeStorageDevice{storageDevice("d0", "1000")}})
	e.createClass(localWFFC("fast", v1.ParamWriteIOPS, "200"))
	e.createVolume(pinnedVolume("pv-data", "node-2"))
	e.createVolume(pinnedVolume("pv-logs", "node-1", "node-2"))
	e.createClaim(boundClaim("data", "pv-data"))
	e.createClaim(boundClaim("logs", "pv-logs"))
	e.createClaim(newClaim("scratch", "fast"))
	e.run(scheduler.Config{})

	e.createPod(podWithClaims("db", "data"))
	if node := e.waitBound("db"); node != "node-2" {
		t.Fatalf("db bound to %s, want node-2, where its volume is", node)
	}
	// Its logs volume rules out node-3, where the IOPS are.
	e.createPod(podWithClaims("indexer", "logs", "scratch"))
	e.waitUnschedulable("indexer",
		is("0/3 nodes are available: 2 insufficient storage IOPS, 1 node(s) had volume node affinity conflict."))
}

// TestPodWaitsForItsClaim: a pod whose claim does not exist yet says so,
// and is placed as soon as the claim is made; the long back-off shows
// the retry comes from the claim, not the timer.
func TestPodWaitsForItsClaim(t *testing.T) {
	e := newEnv(t)
	e.addNode(nodeSpec{name: "n1", cpu: "4", memory: "8Gi", storage: []v1.NodeStorageDevice{storageDevice("d0", "1000")}})
	e.createClass(localWFFC("fast", v1.ParamWriteIOPS, "200"))
	e.run(scheduler.Config{InitialBackoff: time.Minute, MaxBackoff: time.Minute})
	e.createPod(podWithClaims("app", "later"))
	e.waitUnschedulable("app", is(`0/1 nodes are available: 1 persistentvolumeclaim "later" not found.`))
	e.createClaim(newClaim("later", "fast"))
	if node := e.waitBound("app"); node != "n1" {
		t.Fatalf("app bound to %s, want n1", node)
	}
	if c := e.getClaim("later"); c.Annotations[v1.AnnotationSelectedNode] != "n1" {
		t.Fatalf("claim annotations = %v, want selected node n1", c.Annotations)
	}
}

// storageDevice is a 100Gi device with iops I/O operations per second.
func storageDevice(name, iops string) v1.NodeStorageDevice {
	q := resource.MustParse(iops)
	return v1.NodeStorageDevice{Name: name, Path: "/var/lib/kennel/pools/" + name, Capacity: resource.MustParse("100Gi"), IOPS: &q}
}

// localWFFC is a WaitForFirstConsumer class of the local provisioner;
// params alternate names and values.
func localWFFC(name string, params ...string) *v1.StorageClass {
	mode := v1.VolumeBindingWaitForFirstConsumer
	sc := &v1.StorageClass{ObjectMeta: v1.ObjectMeta{Name: name}, Provisioner: v1.ProvisionerLocal,
		VolumeBindingMode: &mode, Parameters: map[string]string{}}
	for i := 0; i+1 < len(params); i += 2 {
		sc.Parameters[params[i]] = params[i+1]
	}
	return sc
}

func newClaim(name, class string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources:   v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if class != "" {
		c.Spec.StorageClassName = &class
	}
	return c
}

// boundClaim is a claim bound to volume (made in advance, no class).
func boundClaim(name, volume string) *v1.PersistentVolumeClaim {
	c := newClaim(name, "")
	c.Spec.VolumeName = volume
	return c
}

// pinnedVolume is a local volume whose node affinity admits nodes.
func pinnedVolume(name string, nodes ...string) *v1.PersistentVolume {
	return &v1.PersistentVolume{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			Capacity:               v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeSource: v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: "/mnt/" + name}},
			AccessModes:            []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: nodes}},
			}}}},
		},
	}
}

// carvedVolume is a volume the local provisioner carved from node/dev,
// reserving iops of it.
func carvedVolume(name, node, dev, iops string) *v1.PersistentVolume {
	pv := pinnedVolume(name, node)
	pv.Annotations = map[string]string{v1.AnnotationProvisionedBy: v1.ProvisionerLocal, v1.AnnotationVolumeNode: node, v1.AnnotationVolumeDevice: dev}
	pv.Spec.Capacity[v1.ResourceStorageIOPS] = resource.MustParse(iops)
	pv.Spec.StorageClassName = "fast"
	return pv
}

// podWithClaims is a small pod with one volume per claim.
func podWithClaims(name string, claims ...string) *v1.Pod {
	p := newPod(name, "100m", "64Mi")
	for i, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: fmt.Sprint("v", i),
			VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
		p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, v1.VolumeMount{Name: fmt.Sprint("v", i), MountPath: fmt.Sprint("/data", i)})
	}
	return p
}

func (e *env) claims() *client.Resource[*v1.PersistentVolumeClaim] {
	return client.For[*v1.PersistentVolumeClaim](e.tc.Admin, "default")
}

func (e *env) createClaim(c *v1.PersistentVolumeClaim) {
	e.t.Helper()
	if _, err := e.claims().Create(e.ctx, c); err != nil {
		e.t.Fatalf("create claim %s: %v", c.Name, err)
	}
}

func (e *env) getClaim(name string) *v1.PersistentVolumeClaim {
	e.t.Helper()
	c, err := e.claims().Get(e.ctx, name)
	if err != nil {
		e.t.Fatalf("get claim %s: %v", name, err)
	}
	return c
}

func (e *env) createVolume(pv *v1.PersistentVolume) {
	e.t.Helper()
	if _, err := client.For[*v1.PersistentVolume](e.tc.Admin, "").Create(e.ctx, pv); err != nil {
		e.t.Fatalf("create volume %s: %v", pv.Name, err)
	}
}

func (e *env) createClass(sc *v1.StorageClass) {
	e.t.Helper()
	if _, err := client.For[*v1.StorageClass](e.tc.Admin, "").Create(e.ctx, sc); err != nil {
		e.t.Fatalf("create class %s: %v", sc.Name, err)
	}
}

// splitBy lists the burst pods bound, and those unschedulable with msg.
func (e *env) splitBy(msg string) (bound, waiting []string) {
	e.t.Helper()
	list, err := e.pods().ListAll(e.ctx, client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range list.Items {
		if !strings.HasPrefix(p.Name, "burst-") {
			continue
		}
		if p.Spec.NodeName != "" {
			bound = append(bound, p.Name)
		} else if c := v1.GetPodCondition(&p.Status, v1.PodScheduled); c != nil && c.Status == v1.ConditionFalse && c.Message == msg {
			waiting = append(waiting, p.Name)
		}
	}
	sort.Strings(bound)
	return bound, waiting
}
