package scheduler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"pgregory.net/rapid"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/config"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
	"github.com/kennel-dev/kennel/internal/scheduler/plugins"
	"github.com/kennel-dev/kennel/internal/volume"
)

// The property tests feed random clusters (nodes with zones, network
// bandwidth and storage devices; local WaitForFirstConsumer classes; pods
// and pets with claims, pod (anti-)affinity and spread constraints, in two
// namespaces) through a profile one pod at a time, as the scheduler's
// loop does but with no API server, and check what no placement may
// break. A failure prints the shrunk scenario (scenario.GoString).
//
//	go test -run TestProperty ./internal/scheduler/
//	go test -run TestPropertySchedulingKeepsInvariants ./internal/scheduler/ -rapid.checks=20000

// TestPropertySchedulingKeepsInvariants: no node or device over-committed,
// every claim selected for its pod's node, required pod (anti-)affinity
// and DoNotSchedule spreading held, and a pod without constraints left
// pending only when no node has room for it.
func TestPropertySchedulingKeepsInvariants(t *testing.T) {
	gen := scenarios()
	rapid.Check(t, func(t *rapid.T) {
		sc := gen.Draw(t, "scenario")
		vols := newMemVolumes(sc)
		profile, err := DefaultProfile(Handle{Volumes: vols, Claims: vols})
		if err != nil {
			t.Fatalf("default profile: %v", err)
		}
		if err := runScenario(context.Background(), profile, sc, vols); err != nil {
			t.Fatalf("%v", err)
		}
	})
}

// TestPropertyCatchesBrokenProfiles shows the checks can fail: with one
// plugin's Filter left out, some of the same generated scenarios (fixed
// seeds) break the property that plugin keeps.
func TestPropertyCatchesBrokenProfiles(t *testing.T) {
	gen := scenarios()
	for _, tt := range []struct{ without, want string }{
		{plugins.NodeResourcesFitName, "over-committed"},
		{plugins.InterPodAffinityName, "pod anti-affinity broken"},
		{plugins.InterPodAffinityName, "its pod affinity"},
		{plugins.PodTopologySpreadName, "breaks its spread"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			for seed := range 500 {
				sc := gen.Example(seed)
				vols := newMemVolumes(sc)
				err := runScenario(context.Background(), profileWithoutFilter(t, tt.without, vols), sc, vols)
				if err != nil && strings.Contains(err.Error(), tt.want) {
					t.Logf("seed %d: %v", seed, err)
					return
				}
			}
			t.Fatalf("no scenario of 500 broke %q with %s's filter off", tt.want, tt.without)
		})
	}
}

// TestPropertyDeviceCheckFails: two claims selected for one device
// reserve more IOPS than it has, and checkDevices says so.
func TestPropertyDeviceCheckFails(t *testing.T) {
	node := newNode("node-00", 1000, 1024, 4, 0, "z1", device("d0", 10, 300, -1))
	sc := scenario{nodes: []*v1.Node{node}, classes: []*v1.StorageClass{localClass("class-0", map[string]int64{v1.ParamWriteIOPS: 200})}}
	for i := range 2 {
		pod := newPod(i, "default", 0, 0, 0)
		c := addClaim(pod, 0, "class-0", 1)
		c.Annotations = map[string]string{v1.AnnotationSelectedNode: "node-00", v1.AnnotationSelectedDevice: "d0"}
		sc.pods, sc.claims = append(sc.pods, pod), append(sc.claims, c)
	}
	err := checkDevices(newMemVolumes(sc), sc, map[string]string{"pod-00": "node-00", "pod-01": "node-00"})
	if err == nil || !strings.Contains(err.Error(), "device node-00/d0 over-committed: 400 IOPS") {
		t.Fatalf("checkDevices = %v, want the IOPS of node-00/d0 over-committed", err)
	}
}

// profileWithoutFilter is the default profile with one plugin's Filter
// left out (the plugin still runs at its other extension points).
func profileWithoutFilter(t *testing.T, name string, vols *memVolumes) *framework.Profile {
	t.Helper()
	built := map[string]framework.Plugin{}
	for n, factory := range Registry() {
		pl, err := factory(nil, Handle{Volumes: vols, Claims: vols})
		if err != nil {
			t.Fatalf("plugin %s: %v", n, err)
		}
		built[n] = pl
	}
	set := config.DefaultPlugins()
	set.Filter = slices.DeleteFunc(slices.Clone(set.Filter), func(n string) bool { return n == name })
	p, err := framework.NewProfileFromSet(built, set, framework.ProfileOptions{})
	if err != nil {
		t.Fatalf("profile without %s: %v", name, err)
	}
	return p
}

// runScenario schedules sc's pods in order, as the scheduler does: Schedule
// over a snapshot, Reserve, PreBind (which writes the claims to vols),
// then the pod counted on its node by replacing the node's NodeInfo
// (copy-on-write, as the cache does: plugins index NodeInfos by pointer).
// A pod that fits no node stays pending. It returns the first property
// broken, or a Reserve or PreBind that refuses what Schedule chose.
func runScenario(ctx context.Context, profile *framework.Profile, sc scenario, vols *memVolumes) error {
	infos, index := make([]*framework.NodeInfo, len(sc.nodes)), map[string]int{}
	for i, n := range sc.nodes {
		infos[i], index[n.Name] = framework.NewNodeInfo(n), i
	}
	placed := map[string]string{} // pod name → node
	for _, pod := range sc.pods {
		res, err := profile.Schedule(ctx, pod, slices.Clone(infos))
		var fit *framework.FitError
		switch {
		case errors.As(err, &fit):
			if err := checkLiveness(pod, infos, fit); err != nil {
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("pod %s: schedule: %w", pod.Name, err)
		}
		node := res.NodeName
		if err := checkPlacement(pod, infos[index[node]].Node, infos); err != nil {
			return err
		}
		if st := profile.RunReserve(ctx, res.State, pod, node); !st.IsSuccess() {
			return fmt.Errorf("pod %s: reserve on %s, chosen with nothing changed since: %s %s: %s", pod.Name, node, st.Plugin(), st.Code(), st.Message())
		}
		if st := profile.RunPreBind(ctx, res.State, pod, node); !st.IsSuccess() {
			return fmt.Errorf("pod %s: prebind on %s: %s %s: %s", pod.Name, node, st.Plugin(), st.Code(), st.Message())
		}
		bound := *pod // shallow, as cache.assume: only NodeName differs
		bound.Spec.NodeName = node
		n := infos[index[node]].Clone()
		n.AddPod(&bound)
		infos[index[node]], placed[pod.Name] = n, node
	}
	if err := checkNodes(infos); err != nil {
		return err
	}
	if err := checkAntiAffinity(infos); err != nil {
		return err
	}
	return checkDevices(vols, sc, placed)
}

// checkNodes: the pods on each node request no more cpu, memory, pods and
// network bandwidth than it has (none where it advertises none).
func checkNodes(infos []*framework.NodeInfo) error {
	for _, n := range infos {
		alloc := framework.ResourceFromList(n.Node.Status.Allocatable)
		var sum framework.Resource
		var names []string
		for _, p := range n.Pods {
			sum.Add(framework.PodRequests(p))
			names = append(names, p.Name)
		}
		for _, r := range []string{v1.ResourceCPU, v1.ResourceMemory, v1.ResourcePods, v1.ResourceNetworkBandwidth} {
			if sum.Get(r) > alloc.Get(r) {
				return fmt.Errorf("node %s over-committed: %s requested %d > allocatable %d, by pods %v", n.Name(), r, sum.Get(r), alloc.Get(r), names)
			}
		}
	}
	return nil
}

// checkDevices: every claim of a placed pod is selected for its node and a
// device of it, of a pending pod for none; the claims selected for a
// device hold no more storage, IOPS and bandwidth than it has (none of a
// figure it does not give).
func checkDevices(vols *memVolumes, sc scenario, placed map[string]string) error {
	owner := map[string]string{} // claim key → pod name
	for _, p := range sc.pods {
		for _, v := range p.Spec.Volumes {
			owner[p.Namespace+"/"+v.PersistentVolumeClaim.ClaimName] = p.Name
		}
	}
	used := map[volume.DeviceKey]volume.Demand{}
	for _, c := range vols.Claims() {
		key, pod := v1.ObjectKey(c), owner[v1.ObjectKey(c)]
		k := volume.DeviceKey{Node: c.Annotations[v1.AnnotationSelectedNode], Device: c.Annotations[v1.AnnotationSelectedDevice]}
		switch {
		case placed[pod] != k.Node:
			return fmt.Errorf("claim %s selected for node %q, its pod %s is on %q", key, k.Node, pod, placed[pod])
		case k.Node == "":
			continue
		case findDevice(vols.nodes[k.Node], k.Device) == nil:
			return fmt.Errorf("claim %s of pod %s selected for device %q, which node %s does not have", key, pod, k.Device, k.Node)
		}
		q, err := volume.ClassQoS(vols.classes[*c.Spec.StorageClassName])
		if err != nil {
			return err
		}
		used[k] = used[k].Add(volume.ClaimDemand(c, q))
	}
	for _, k := range slices.SortedFunc(maps.Keys(used), func(a, b volume.DeviceKey) int { return strings.Compare(a.String(), b.String()) }) {
		dev, d := findDevice(vols.nodes[k.Node], k.Device), used[k]
		figure := func(q *resource.Quantity) int64 {
			if q == nil {
				return 0
			}
			return q.Value()
		}
		for _, c := range []struct {
			what       string
			want, have int64
			format     resource.Format
		}{
			{"of storage", d.Storage, dev.Capacity.Value(), resource.BinarySI},
			{"IOPS", d.IOPS, figure(dev.IOPS), resource.DecimalSI},
			{"bytes/s of bandwidth", d.Bandwidth, figure(dev.Bandwidth), resource.BinarySI},
		} {
			if c.want > c.have {
				return fmt.Errorf("device %s over-committed: %s %s reserved by its claims, it has %s", k,
					resource.NewQuantity(c.want, c.format), c.what, resource.NewQuantity(c.have, c.format))
			}
		}
	}
	return nil
}

func findDevice(node *v1.Node, name string) *v1.NodeStorageDevice {
	for i := range node.Status.Storage {
		if node.Status.Storage[i].Name == name {
			return &node.Status.Storage[i]
		}
	}
	return nil
}

// checkLiveness: a pod with no claims, no pod (anti-)affinity, no spread
// constraints and no app label (so that no pod's anti-affinity selects
// it) is left pending only when no node has room for its requests.
func checkLiveness(pod *v1.Pod, infos []*framework.NodeInfo, fit *framework.FitError) error {
	if len(pod.Spec.Volumes) > 0 || pod.Spec.Affinity != nil || len(pod.Spec.TopologySpreadConstraints) > 0 || pod.Labels["app"] != "" {
		return nil
	}
	req := framework.PodRequests(pod)
	for _, n := range infos {
		free := n.Allocatable.Clone()
		free.Sub(n.Requested)
		bw := req.Get(v1.ResourceNetworkBandwidth)
		if free.Pods >= 1 && (req.MilliCPU == 0 || req.MilliCPU <= free.MilliCPU) && (req.Memory == 0 || req.Memory <= free.Memory) &&
			(bw == 0 || bw <= free.Get(v1.ResourceNetworkBandwidth)) {
			return fmt.Errorf("pod %s (no constraints) left pending, yet node %s has room for it: %v", pod.Name, n.Name(), fit)
		}
	}
	return nil
}

// checkPlacement checks, before pod is counted on node, its required pod
// affinity and its DoNotSchedule spread constraints against the pods
// placed so far.
func checkPlacement(pod *v1.Pod, node *v1.Node, infos []*framework.NodeInfo) error {
	if err := checkAffinity(pod, node, infos); err != nil {
		return err
	}
	return checkSpread(pod, node, infos)
}

// checkAffinity: node has every term's key, and each term's domain there
// holds a pod selected by all the terms; or no pod on a node with a
// term's key is selected by them all, and the pod selects itself (the
// first of its group).
func checkAffinity(pod *v1.Pod, node *v1.Node, infos []*framework.NodeInfo) error {
	if pod.Spec.Affinity == nil || pod.Spec.Affinity.PodAffinity == nil {
		return nil
	}
	terms := pod.Spec.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	selectedByAll := func(p *v1.Pod) bool {
		return !slices.ContainsFunc(terms, func(t v1.PodAffinityTerm) bool { return !selects(pod, &t, p) })
	}
	inDomain, anywhere := make([]bool, len(terms)), false
	for _, n := range infos {
		for _, p := range n.Pods {
			for i, t := range terms {
				if v, ok := n.Node.Labels[t.TopologyKey]; ok && selectedByAll(p) {
					anywhere, inDomain[i] = true, inDomain[i] || v == node.Labels[t.TopologyKey]
				}
			}
		}
	}
	for i, t := range terms {
		if _, ok := node.Labels[t.TopologyKey]; !ok {
			return fmt.Errorf("pod %s placed on %s, which lacks its pod affinity key %s", pod.Name, node.Name, t.TopologyKey)
		}
		if !inDomain[i] && (anywhere || !selectedByAll(pod)) {
			return fmt.Errorf("pod %s placed on %s: no pod its pod affinity selects in %s=%s", pod.Name, node.Name, t.TopologyKey, node.Labels[t.TopologyKey])
		}
	}
	return nil
}

// selects reports whether owner's term selects p: the terms name no
// namespaces, so only owner's own counts.
func selects(owner *v1.Pod, t *v1.PodAffinityTerm, p *v1.Pod) bool {
	return p.Namespace == owner.Namespace && t.LabelSelector.Matches(p.Labels)
}

// checkSpread: for each DoNotSchedule constraint, counting the pods it
// selects in the pod's namespace over the nodes with every such
// constraint's key, the pod's domain on node (with the pod, if it
// matches) is at most maxSkew above the emptiest domain.
func checkSpread(pod *v1.Pod, node *v1.Node, infos []*framework.NodeInfo) error {
	hard := slices.DeleteFunc(slices.Clone(pod.Spec.TopologySpreadConstraints),
		func(c v1.TopologySpreadConstraint) bool { return c.WhenUnsatisfiable != v1.DoNotSchedule })
	for _, c := range hard {
		value, ok := node.Labels[c.TopologyKey]
		if !ok {
			return fmt.Errorf("pod %s placed on %s, which lacks its spread key %s", pod.Name, node.Name, c.TopologyKey)
		}
		counts := map[string]int{}
		for _, n := range infos {
			if slices.ContainsFunc(hard, func(c v1.TopologySpreadConstraint) bool { return !hasLabel(n.Node, c.TopologyKey) }) {
				continue
			}
			d := n.Node.Labels[c.TopologyKey]
			counts[d] += 0 // an empty domain counts
			for _, p := range n.Pods {
				if p.Namespace == pod.Namespace && c.LabelSelector.Matches(p.Labels) {
					counts[d]++
				}
			}
		}
		self := 0
		if c.LabelSelector.Matches(pod.Labels) {
			self = 1
		}
		if least := slices.Min(slices.Collect(maps.Values(counts))); counts[value]+self-least > int(c.MaxSkew) {
			return fmt.Errorf("pod %s placed on %s breaks its spread over %s: %s would hold %d, the emptiest domain %d (maxSkew %d; counts before %v)",
				pod.Name, node.Name, c.TopologyKey, value, counts[value]+self, least, c.MaxSkew, counts)
		}
	}
	return nil
}

// checkAntiAffinity: no placed pod's required anti-affinity term selects
// another placed pod in its topology domain.
func checkAntiAffinity(infos []*framework.NodeInfo) error {
	for _, a := range infos {
		for _, p := range a.Pods {
			if p.Spec.Affinity == nil || p.Spec.Affinity.PodAntiAffinity == nil {
				continue
			}
			for _, t := range p.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				v, ok := a.Node.Labels[t.TopologyKey]
				for _, b := range infos {
					for _, q := range b.Pods {
						if ok && q != p && hasLabel(b.Node, t.TopologyKey) && b.Node.Labels[t.TopologyKey] == v && selects(p, &t, q) {
							return fmt.Errorf("pod anti-affinity broken: pod %s on %s and pod %s on %s share %s=%s", p.Name, a.Name(), q.Name, b.Name(), t.TopologyKey, v)
						}
					}
				}
			}
		}
	}
	return nil
}

func hasLabel(n *v1.Node, key string) bool { _, ok := n.Labels[key]; return ok }
