package scheduler

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"pgregory.net/rapid"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/plugins"
)

// The property test's generators and its in-memory volume store.

// memVolumes is an in-memory VolumeListers and ClaimWriter: the informers
// of a cluster without volumes made in advance, that show each claim write
// at once. Not safe for concurrent use: runScenario decides one pod at a
// time.
type memVolumes struct {
	nodes   map[string]*v1.Node
	claims  map[string]*v1.PersistentVolumeClaim // by namespace/name
	classes map[string]*v1.StorageClass
}

var (
	_ plugins.VolumeListers = (*memVolumes)(nil)
	_ plugins.ClaimWriter   = (*memVolumes)(nil)
)

func newMemVolumes(sc scenario) *memVolumes {
	m := &memVolumes{nodes: map[string]*v1.Node{}, claims: map[string]*v1.PersistentVolumeClaim{}, classes: map[string]*v1.StorageClass{}}
	for _, n := range sc.nodes {
		m.nodes[n.Name] = n
	}
	for _, c := range sc.claims {
		m.claims[v1.ObjectKey(c)] = c
	}
	for _, c := range sc.classes {
		m.classes[c.Name] = c
	}
	return m
}

func (m *memVolumes) Node(name string) (*v1.Node, bool)          { n, ok := m.nodes[name]; return n, ok }
func (m *memVolumes) Volume(string) (*v1.PersistentVolume, bool) { return nil, false }
func (m *memVolumes) Volumes() []*v1.PersistentVolume            { return nil }
func (m *memVolumes) StorageClass(name string) (*v1.StorageClass, bool) {
	c, ok := m.classes[name]
	return c, ok
}
func (m *memVolumes) Claim(ns, name string) (*v1.PersistentVolumeClaim, bool) {
	c, ok := m.claims[ns+"/"+name]
	return c, ok
}

// Claims lists the claims in key order.
func (m *memVolumes) Claims() []*v1.PersistentVolumeClaim {
	var out []*v1.PersistentVolumeClaim
	for _, k := range slices.Sorted(maps.Keys(m.claims)) {
		out = append(out, m.claims[k])
	}
	return out
}

// UpdateClaim stores c if its resourceVersion is the stored one.
func (m *memVolumes) UpdateClaim(_ context.Context, c *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	cur, ok := m.claims[v1.ObjectKey(c)]
	switch {
	case !ok:
		return nil, v1.NewError(v1.ReasonNotFound, "persistentvolumeclaims %q not found", c.Name)
	case cur.ResourceVersion != c.ResourceVersion:
		return nil, v1.NewError(v1.ReasonConflict, "persistentvolumeclaims %q: the object has been modified", c.Name)
	}
	rv, _ := strconv.Atoi(cur.ResourceVersion)
	out := v1.Clone(c)
	out.ResourceVersion = strconv.Itoa(rv + 1)
	m.claims[v1.ObjectKey(c)] = out
	return out, nil
}

// scenario is one generated cluster, its nodes in name order (as Schedule
// wants them), and the pods to place, in order.
type scenario struct {
	nodes   []*v1.Node
	classes []*v1.StorageClass
	claims  []*v1.PersistentVolumeClaim
	pods    []*v1.Pod
}

var topologyKeys = []string{v1.LabelTopologyZone, v1.LabelHostname}

// scenarios generates 1-12 nodes (0-2 storage devices each), 0-2 local
// WaitForFirstConsumer classes, and 1-40 pods, with 0-2 claims each when
// there are classes.
func scenarios() *rapid.Generator[scenario] {
	return rapid.Custom(func(t *rapid.T) scenario {
		var sc scenario
		for i := range rapid.IntRange(1, 12).Draw(t, "nodes") {
			var devs []v1.NodeStorageDevice
			for j := range rapid.IntRange(0, 2).Draw(t, "devices") {
				devs = append(devs, device(fmt.Sprint("d", j), draw(t, 2, 12, 1), optional(t, 0, 12, 100), optional(t, 0, 12, 10<<20)))
			}
			zone := rapid.SampledFrom([]string{"", "z1", "z2", "z3"}).Draw(t, "zone")
			sc.nodes = append(sc.nodes, newNode(fmt.Sprintf("node-%02d", i), draw(t, 1, 16, 500), draw(t, 1, 16, 512),
				draw(t, 1, 12, 1), optional(t, 1, 10, 100_000_000), zone, devs...))
		}
		var classes []string
		for i := range rapid.IntRange(0, 2).Draw(t, "classes") {
			params := map[string]int64{}
			for _, p := range []string{v1.ParamReadIOPS, v1.ParamWriteIOPS} {
				params[p] = optional(t, 0, 4, 50)
			}
			for _, p := range []string{v1.ParamReadBandwidth, v1.ParamWriteBandwidth} {
				params[p] = optional(t, 0, 4, 5<<20)
			}
			classes = append(classes, fmt.Sprint("class-", i))
			sc.classes = append(sc.classes, localClass(classes[i], params))
		}
		sets := []string{"set-a", "set-b", "set-c"}[:rapid.IntRange(0, 3).Draw(t, "sets")]
		for i := range rapid.IntRange(1, 40).Draw(t, "pods") {
			bw := int64(-1)
			if rapid.IntRange(0, 3).Draw(t, "bandwidth") == 0 {
				bw = draw(t, 1, 3, 100_000_000)
			}
			ns := rapid.SampledFrom([]string{"default", "default", "default", "other"}).Draw(t, "namespace")
			pod := newPod(i, ns, draw(t, 0, 8, 250), draw(t, 0, 8, 256), bw)
			genConstraints(t, pod, sets)
			for j := range rapid.IntRange(0, min(len(classes), 1)*2).Draw(t, "claims") {
				sc.claims = append(sc.claims, addClaim(pod, j, rapid.SampledFrom(classes).Draw(t, "class"), draw(t, 1, 3, 1)))
			}
			sc.pods = append(sc.pods, pod)
		}
		return sc
	})
}

// genConstraints makes pod, three times in four when there are sets, a
// pet of one of them (label app=set), maybe with anti-affinity to its
// siblings and DoNotSchedule spreading over them; and one time in five
// gives it affinity to the pets of a set.
func genConstraints(t *rapid.T, pod *v1.Pod, sets []string) {
	set := ""
	if len(sets) > 0 && rapid.IntRange(0, 3).Draw(t, "pet") > 0 {
		set = rapid.SampledFrom(sets).Draw(t, "set")
		yes := true
		pod.Labels = map[string]string{"app": set}
		pod.OwnerReferences = []v1.OwnerReference{{APIVersion: "kennel.io/v1", Kind: "PetSet", Name: set, UID: "uid-" + pod.Namespace + "-" + set, Controller: &yes}}
	}
	term := func(target string) []v1.PodAffinityTerm {
		return []v1.PodAffinityTerm{{LabelSelector: &v1.LabelSelector{MatchLabels: map[string]string{"app": target}},
			TopologyKey: rapid.SampledFrom(topologyKeys).Draw(t, "key")}}
	}
	aff := &v1.Affinity{}
	if set != "" && rapid.Bool().Draw(t, "anti") {
		aff.PodAntiAffinity = &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: term(set)}
	}
	if len(sets) > 0 && rapid.IntRange(0, 4).Draw(t, "affinity") == 0 {
		aff.PodAffinity = &v1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: term(rapid.SampledFrom(sets).Draw(t, "target"))}
	}
	if aff.PodAffinity != nil || aff.PodAntiAffinity != nil {
		pod.Spec.Affinity = aff
	}
	if set == "" || !rapid.Bool().Draw(t, "spread") {
		return
	}
	for _, key := range rapid.SampledFrom([][]string{{v1.LabelTopologyZone}, {v1.LabelHostname}, topologyKeys}).Draw(t, "spread keys") {
		pod.Spec.TopologySpreadConstraints = append(pod.Spec.TopologySpreadConstraints, v1.TopologySpreadConstraint{
			MaxSkew: int32(rapid.IntRange(1, 2).Draw(t, "maxSkew")), TopologyKey: key, WhenUnsatisfiable: v1.DoNotSchedule,
			LabelSelector: &v1.LabelSelector{MatchLabels: map[string]string{"app": set}}})
	}
}

// draw is unit × a number in [lo, hi].
func draw(t *rapid.T, lo, hi int, unit int64) int64 {
	return int64(rapid.IntRange(lo, hi).Draw(t, "n")) * unit
}

// optional is draw, or one time in three -1 (absent).
func optional(t *rapid.T, lo, hi int, unit int64) int64 {
	if rapid.IntRange(0, 2).Draw(t, "absent") == 0 {
		return -1
	}
	return draw(t, lo, hi, unit)
}

// newNode is a ready node with milliCPU, memMi MiB of memory, pods, bw bits
// per second of network bandwidth (-1: none advertised), in zone ("": no
// zone label), with devs.
func newNode(name string, milliCPU, memMi, pods, bw int64, zone string, devs ...v1.NodeStorageDevice) *v1.Node {
	n := &v1.Node{ObjectMeta: v1.ObjectMeta{Name: name, Labels: map[string]string{v1.LabelHostname: name}},
		Status: v1.NodeStatus{
			Allocatable: v1.ResourceList{v1.ResourceCPU: *resource.NewMilliQuantity(milliCPU, resource.DecimalSI),
				v1.ResourceMemory: *resource.NewQuantity(memMi<<20, resource.BinarySI), v1.ResourcePods: *resource.NewQuantity(pods, resource.DecimalSI)},
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
			Storage:    devs,
		}}
	if zone != "" {
		n.Labels[v1.LabelTopologyZone] = zone
	}
	if bw >= 0 {
		n.Status.Allocatable[v1.ResourceNetworkBandwidth] = *resource.NewQuantity(bw, resource.DecimalSI)
	}
	return n
}

// device is a storage device of capGi GiB, iops, and bw bytes per second
// (-1: no figure).
func device(name string, capGi, iops, bw int64) v1.NodeStorageDevice {
	d := v1.NodeStorageDevice{Name: name, Path: "/var/lib/kennel/pools/" + name, Capacity: *resource.NewQuantity(capGi<<30, resource.BinarySI)}
	if iops >= 0 {
		d.IOPS = resource.NewQuantity(iops, resource.DecimalSI)
	}
	if bw >= 0 {
		d.Bandwidth = resource.NewQuantity(bw, resource.BinarySI)
	}
	return d
}

// localClass is a WaitForFirstConsumer class of the local provisioner
// with the QoS params that are not -1.
func localClass(name string, params map[string]int64) *v1.StorageClass {
	mode := v1.VolumeBindingWaitForFirstConsumer
	sc := &v1.StorageClass{ObjectMeta: v1.ObjectMeta{Name: name}, Provisioner: v1.ProvisionerLocal, VolumeBindingMode: &mode, Parameters: map[string]string{}}
	for k, v := range params {
		if v >= 0 {
			sc.Parameters[k] = strconv.FormatInt(v, 10)
		}
	}
	return sc
}

// newPod is pod-NN in ns requesting milliCPU, memMi MiB and bw bits per
// second in one container (zero or less: no request).
func newPod(i int, ns string, milliCPU, memMi, bw int64) *v1.Pod {
	req := v1.ResourceList{}
	for _, r := range []struct {
		name string
		q    *resource.Quantity
	}{
		{v1.ResourceCPU, resource.NewMilliQuantity(milliCPU, resource.DecimalSI)},
		{v1.ResourceMemory, resource.NewQuantity(memMi<<20, resource.BinarySI)},
		{v1.ResourceNetworkBandwidth, resource.NewQuantity(bw, resource.DecimalSI)},
	} {
		if r.q.Sign() > 0 {
			req[r.name] = *r.q
		}
	}
	name := fmt.Sprintf("pod-%02d", i)
	return &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns, UID: "uid-" + name},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{Requests: req}}}}}
}

// addClaim mounts in pod its unbound claim number j, of class, for gi
// GiB, and returns the claim.
func addClaim(pod *v1.Pod, j int, class string, gi int64) *v1.PersistentVolumeClaim {
	name := fmt.Sprintf("%s-data-%d", pod.Name, j)
	pod.Spec.Volumes = append(pod.Spec.Volumes, v1.Volume{Name: name,
		VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: name}}})
	return &v1.PersistentVolumeClaim{
		ObjectMeta: v1.ObjectMeta{Name: name, Namespace: pod.Namespace, UID: "uid-" + name, ResourceVersion: "1"},
		Spec: v1.PersistentVolumeClaimSpec{AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}, StorageClassName: &class,
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: *resource.NewQuantity(gi<<30, resource.BinarySI)}}},
	}
}

// GoString describes the scenario, one line per node, class and pod, for
// rapid's report of a failing case.
func (sc scenario) GoString() string {
	var b strings.Builder
	q := func(rl v1.ResourceList, name string) string {
		if v, ok := rl[name]; ok {
			return v.String()
		}
		return "-"
	}
	for _, n := range sc.nodes {
		al := n.Status.Allocatable
		fmt.Fprintf(&b, "\nnode %s zone=%s cpu=%s mem=%s pods=%s bw=%s", n.Name, n.Labels[v1.LabelTopologyZone],
			q(al, v1.ResourceCPU), q(al, v1.ResourceMemory), q(al, v1.ResourcePods), q(al, v1.ResourceNetworkBandwidth))
		for _, d := range n.Status.Storage {
			fmt.Fprintf(&b, " [%s cap=%s iops=%v bw=%v]", d.Name, d.Capacity.String(), d.IOPS, d.Bandwidth)
		}
	}
	for _, c := range sc.classes {
		fmt.Fprintf(&b, "\nclass %s %v", c.Name, c.Parameters)
	}
	for _, p := range sc.pods {
		r := p.Spec.Containers[0].Resources.Requests
		fmt.Fprintf(&b, "\npod %s/%s app=%s cpu=%s mem=%s bw=%s", p.Namespace, p.Name, p.Labels["app"], q(r, v1.ResourceCPU), q(r, v1.ResourceMemory), q(r, v1.ResourceNetworkBandwidth))
		if a := p.Spec.Affinity; a != nil && a.PodAntiAffinity != nil {
			t := a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
			fmt.Fprintf(&b, " anti=%v@%s", t.LabelSelector.MatchLabels, t.TopologyKey)
		}
		if a := p.Spec.Affinity; a != nil && a.PodAffinity != nil {
			t := a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
			fmt.Fprintf(&b, " affinity=%v@%s", t.LabelSelector.MatchLabels, t.TopologyKey)
		}
		for _, c := range p.Spec.TopologySpreadConstraints {
			fmt.Fprintf(&b, " spread=%s/maxSkew=%d", c.TopologyKey, c.MaxSkew)
		}
		for _, c := range sc.claims {
			if s := c.Spec.Resources.Requests[v1.ResourceStorage]; strings.HasPrefix(c.Name, p.Name+"-") {
				fmt.Fprintf(&b, " claim=%s(%s,%s)", c.Name, *c.Spec.StorageClassName, s.String())
			}
		}
	}
	return b.String()
}
