package plugins

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// fakeVolumes is an in-memory VolumeListers and ClaimWriter. The listers
// show what the test put there; claim writes are conditional on the
// resourceVersion, recorded in written, and shown by the listers only
// when the informer is not lagging, or once caughtUp is called.
type fakeVolumes struct {
	mu      sync.Mutex
	nodes   map[string]*v1.Node
	claims  map[string]*v1.PersistentVolumeClaim // by "namespace/name"
	pvs     map[string]*v1.PersistentVolume
	classes map[string]*v1.StorageClass
	lagging bool
	written map[string]*v1.PersistentVolumeClaim // the API server's newest version, by key
	writes  int
}

var (
	_ VolumeListers = (*fakeVolumes)(nil)
	_ ClaimWriter   = (*fakeVolumes)(nil)
)

func newFakeVolumes() *fakeVolumes {
	return &fakeVolumes{nodes: map[string]*v1.Node{}, claims: map[string]*v1.PersistentVolumeClaim{},
		pvs: map[string]*v1.PersistentVolume{}, classes: map[string]*v1.StorageClass{}, written: map[string]*v1.PersistentVolumeClaim{}}
}

func (f *fakeVolumes) Node(name string) (*v1.Node, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nodes[name]
	return n, ok
}

func (f *fakeVolumes) Claim(ns, name string) (*v1.PersistentVolumeClaim, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.claims[ns+"/"+name]
	return c, ok
}

func (f *fakeVolumes) Claims() []*v1.PersistentVolumeClaim {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*v1.PersistentVolumeClaim
	for _, c := range f.claims {
		out = append(out, c)
	}
	return out
}

func (f *fakeVolumes) Volume(name string) (*v1.PersistentVolume, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pv, ok := f.pvs[name]
	return pv, ok
}

func (f *fakeVolumes) Volumes() []*v1.PersistentVolume {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*v1.PersistentVolume
	for _, pv := range f.pvs {
		out = append(out, pv)
	}
	return out
}

func (f *fakeVolumes) StorageClass(name string) (*v1.StorageClass, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sc, ok := f.classes[name]
	return sc, ok
}

// UpdateClaim writes c if its resourceVersion is the newest.
func (f *fakeVolumes) UpdateClaim(_ context.Context, c *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := c.Namespace + "/" + c.Name
	cur, ok := f.written[key]
	if !ok {
		cur, ok = f.claims[key]
	}
	switch {
	case !ok:
		return nil, v1.NewError(v1.ReasonNotFound, "persistentvolumeclaims %q not found", c.Name)
	case cur.ResourceVersion != c.ResourceVersion:
		return nil, v1.NewError(v1.ReasonConflict, "persistentvolumeclaims %q: the object has been modified", c.Name)
	}
	rv, _ := strconv.Atoi(cur.ResourceVersion)
	out := v1.Clone(c)
	out.ResourceVersion = strconv.Itoa(rv + 1)
	f.written[key] = out
	f.writes++
	if !f.lagging {
		f.claims[key] = out
	}
	return out, nil
}

// caughtUp shows every write in the listers, as the informer would.
func (f *fakeVolumes) caughtUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, c := range f.written {
		f.claims[k] = c
	}
}

func (f *fakeVolumes) apiClaim(ns, name string) *v1.PersistentVolumeClaim {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.written[ns+"/"+name]; ok {
		return c
	}
	return f.claims[ns+"/"+name]
}

func (f *fakeVolumes) addNode(n *v1.Node) *v1.Node { f.nodes[n.Name] = n; return n }

func (f *fakeVolumes) addClaim(c *v1.PersistentVolumeClaim) *v1.PersistentVolumeClaim {
	if c.UID == "" {
		c.UID = "uid-" + c.Namespace + "-" + c.Name
	}
	if c.ResourceVersion == "" {
		c.ResourceVersion = "1"
	}
	f.claims[c.Namespace+"/"+c.Name] = c
	return c
}

func (f *fakeVolumes) addPV(pv *v1.PersistentVolume) { f.pvs[pv.Name] = pv }
func (f *fakeVolumes) addClass(sc *v1.StorageClass)  { f.classes[sc.Name] = sc }

// device is a node storage device; "" leaves iops or bandwidth out.
func device(name, capacity, iops, bandwidth string) v1.NodeStorageDevice {
	d := v1.NodeStorageDevice{Name: name, Path: "/pool/" + name, Capacity: resource.MustParse(capacity)}
	if iops != "" {
		q := resource.MustParse(iops)
		d.IOPS = &q
	}
	if bandwidth != "" {
		q := resource.MustParse(bandwidth)
		d.Bandwidth = &q
	}
	return d
}

func storageNode(name string, labels map[string]string, devices ...v1.NodeStorageDevice) *v1.Node {
	n := readyNode(name)
	n.Labels = map[string]string{v1.LabelHostname: name}
	for k, v := range labels {
		n.Labels[k] = v
	}
	n.Status.Storage = devices
	return n
}

// localClass is a WaitForFirstConsumer class of the local provisioner
// with parameters given as alternating names and values.
func localClass(name string, params ...string) *v1.StorageClass {
	wffc := v1.VolumeBindingWaitForFirstConsumer
	sc := &v1.StorageClass{ObjectMeta: v1.ObjectMeta{Name: name}, Provisioner: v1.ProvisionerLocal,
		VolumeBindingMode: &wffc, Parameters: map[string]string{}}
	for i := 0; i+1 < len(params); i += 2 {
		sc.Parameters[params[i]] = params[i+1]
	}
	return sc
}

func claim(ns, name, class, storage string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{
		ObjectMeta: v1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources:   v1.VolumeResourceRequirements{Requests: resources(v1.ResourceStorage, storage)},
		},
	}
	if class != "" {
		c.Spec.StorageClassName = &class
	}
	return c
}

// pinnedPV is a local volume whose node affinity names nodes.
func pinnedPV(name, class, storage string, nodes ...string) *v1.PersistentVolume {
	return &v1.PersistentVolume{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			Capacity:               resources(v1.ResourceStorage, storage),
			PersistentVolumeSource: v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: "/pool/" + name}},
			AccessModes:            []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			StorageClassName:       class,
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: nodes}},
			}}}},
		},
		Status: v1.PersistentVolumeStatus{Phase: v1.VolumeAvailable},
	}
}

// carvedPV is a volume the local provisioner carved from node/device for
// the claim with UID uid, holding storage and iops of it.
func carvedPV(name, node, dev, uid, storage, iops string) *v1.PersistentVolume {
	pv := pinnedPV(name, "fast", storage, node)
	pv.Annotations = map[string]string{v1.AnnotationVolumeNode: node, v1.AnnotationVolumeDevice: dev}
	pv.Spec.Capacity[v1.ResourceStorageIOPS] = resource.MustParse(iops)
	pv.Spec.ClaimRef = &v1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "other", Name: name, UID: uid}
	pv.Status.Phase = v1.VolumeBound
	return pv
}

// podClaiming is a pod in "default" with one volume per claim name.
func podClaiming(name string, claims ...string) *v1.Pod {
	p := podWith()
	p.Name, p.UID = name, "uid-"+name
	for i, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: fmt.Sprint("v", i),
			VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return p
}

// decide runs VolumeBinding's PreFilter and Filter over the store's nodes
// and returns each node's verdict, or PreFilter's.
func decide(t *testing.T, pl *VolumeBinding, f *fakeVolumes, pod *v1.Pod) (pre *framework.Status, perNode map[string]*framework.Status) {
	t.Helper()
	state := framework.NewCycleState()
	if s := pl.PreFilter(context.Background(), state, pod); !s.IsSuccess() {
		return s, nil
	}
	perNode = map[string]*framework.Status{}
	for name, n := range f.nodes {
		perNode[name] = pl.Filter(context.Background(), state, pod, framework.NewNodeInfo(n))
	}
	return nil, perNode
}
