package member_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/federation/member"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// addNodes gives the member a Ready node with capacity, a pod bound to
// it, and a NotReady node.
func (e *env) addNodes() {
	e.t.Helper()
	nodes := client.For[*v1.Node](e.mem.Admin, "")
	for _, n := range []struct {
		name  string
		ready v1.ConditionStatus
	}{{"n1", v1.ConditionTrue}, {"n2", v1.ConditionFalse}} {
		node, err := nodes.Create(e.ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: n.name}})
		if err != nil {
			e.t.Fatal(err)
		}
		iops, bw := resource.MustParse("1000"), resource.MustParse("100Mi")
		node.Status.Allocatable = v1.ResourceList{
			v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi"),
			v1.ResourceNetworkBandwidth: resource.MustParse("1G"), v1.ResourcePods: resource.MustParse("110"),
		}
		node.Status.Storage = []v1.NodeStorageDevice{{Name: "data0", Capacity: resource.MustParse("100Gi"), IOPS: &iops, Bandwidth: &bw,
			Reserved: &v1.StorageReservation{Volumes: 1, Capacity: resource.MustParse("10Gi"), IOPS: resource.MustParse("100"), Bandwidth: resource.MustParse("10Mi")}}}
		node.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: n.ready}}
		if _, err := nodes.UpdateStatus(e.ctx, node); err != nil {
			e.t.Fatal(err)
		}
	}
	e.create(e.mem.Admin, &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "busy", Namespace: v1.NamespaceDefault}, Spec: v1.PodSpec{
		NodeName: "n1",
		Containers: []v1.Container{{Name: "c", Command: []string{"sleep", "1"}, Resources: v1.ResourceRequirements{
			Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m"), v1.ResourceMemory: resource.MustParse("1Gi")}}}},
	}})
}

func quantityIs(rl v1.ResourceList, name, want string) bool {
	q, ok := rl[name]
	return ok && q.Cmp(resource.MustParse(want)) == 0
}

// agentTest is TestAgent's state, shared by its steps, which run in
// order against one agent.
type agentTest struct {
	e *env
	// taken is an object of the member's own, in the way of a Work.
	taken *v1.ConfigMap
	stop  func()
}

// east is the member TestAgent plays.
const east = "east"

func TestAgent(t *testing.T) {
	e := newEnv(t)
	e.memberNamespace(east)
	e.addNodes()
	a := &agentTest{e: e}
	a.taken = e.create(e.mem.Admin, configMap(v1.NamespaceDefault, "taken", map[string]string{"mine": "yes"})).(*v1.ConfigMap)
	a.stop = e.startAgent(e.config(east))
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"registers the Cluster and reports its status", a.registers},
		{"keeps the federation's Ready condition", a.keepsReady},
		{"renews the Lease", a.renewsLease},
		{"writes the membership ConfigMap", a.writesMembership},
		{"applies a ConfigMap into a new namespace", a.appliesConfigMap},
		{"applies a PetSet and reports its status", a.appliesPetSet},
		{"applies a new generation", a.appliesGeneration},
		{"leaves an object that is not the federation's alone", a.leavesOthersAlone},
		{"reports what the member refuses", a.reportsRefusal},
		{"reports a Service's endpoints", a.reportsEndpoints},
		{"mirrors FederatedEndpoints", a.mirrorsEndpoints},
		{"deletes the object of a deleted Work", a.deletesWithWork},
		{"after a restart, writes nothing and sweeps what was deleted meanwhile", a.restarts},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

func (a *agentTest) registers(t *testing.T) {
	e := a.e
	var cl *v1.Cluster
	testcluster.Eventually(t, wait, "Cluster status", func() bool {
		cl = get[*v1.Cluster](e, e.fed.Admin, "", east)
		return cl != nil && cl.Status.Nodes == 2 && cl.Status.LastRenewTime != nil
	})
	if cl.Labels["tier"] != "gold" || cl.Spec.Region != "us-east" || !reflect.DeepEqual(cl.Spec.Zones, []string{"us-east-1a", "us-east-1b"}) ||
		cl.Spec.APIEndpoint != "https://member.example.org:6443" {
		t.Errorf("Cluster labels/spec = %v %+v", cl.Labels, cl.Spec)
	}
	st := cl.Status
	if st.ReadyNodes != 1 || st.KennelVersion == "" {
		t.Errorf("readyNodes = %d, kennelVersion = %q", st.ReadyNodes, st.KennelVersion)
	}
	for name, want := range map[string]string{v1.ResourceCPU: "4", v1.ResourceMemory: "8Gi", v1.ResourceNetworkBandwidth: "1G",
		v1.ResourceStorage: "100Gi", v1.ResourceStorageIOPS: "1000", v1.ResourceStorageBandwidth: "100Mi"} {
		if !quantityIs(st.Allocatable, name, want) {
			t.Errorf("allocatable[%s] = %v, want %s", name, st.Allocatable[name], want)
		}
	}
	for name, want := range map[string]string{v1.ResourceCPU: "3500m", v1.ResourceMemory: "7Gi", v1.ResourceNetworkBandwidth: "1G",
		v1.ResourceStorage: "90Gi", v1.ResourceStorageIOPS: "900", v1.ResourceStorageBandwidth: "90Mi"} {
		if !quantityIs(st.Free, name, want) {
			t.Errorf("free[%s] = %v, want %s", name, st.Free[name], want)
		}
	}
}

func (a *agentTest) keepsReady(t *testing.T) {
	e := a.e
	cl := get[*v1.Cluster](e, e.fed.Admin, "", east)
	cl.Status.Conditions = []v1.Condition{{Type: v1.ClusterReady, Status: v1.ConditionTrue, Reason: "LeaseRenewed"}}
	if _, err := client.For[*v1.Cluster](e.fed.Admin, "").UpdateStatus(e.ctx, cl); err != nil {
		t.Fatal(err)
	}
	first := cl.Status.LastRenewTime.Time
	testcluster.Eventually(t, wait, "a later status report", func() bool {
		cl = get[*v1.Cluster](e, e.fed.Admin, "", east)
		return cl.Status.LastRenewTime.After(first)
	})
	if len(cl.Status.Conditions) != 1 || cl.Status.Conditions[0].Reason != "LeaseRenewed" {
		t.Errorf("conditions = %+v, want the federation's Ready kept", cl.Status.Conditions)
	}
}

func (a *agentTest) renewsLease(t *testing.T) {
	e := a.e
	var first time.Time
	testcluster.Eventually(t, wait, "Lease", func() bool {
		l := get[*v1.Lease](e, e.fed.Admin, v1.NamespaceClusterLeases, east)
		if l == nil || l.Spec.RenewTime == nil {
			return false
		}
		if *l.Spec.HolderIdentity != east || *l.Spec.LeaseDurationSeconds != 2 {
			t.Fatalf("Lease spec = %+v", l.Spec)
		}
		first = l.Spec.RenewTime.Time
		return true
	})
	testcluster.Eventually(t, wait, "Lease renewed", func() bool {
		l := get[*v1.Lease](e, e.fed.Admin, v1.NamespaceClusterLeases, east)
		return l.Spec.RenewTime.After(first)
	})
}

func (a *agentTest) writesMembership(t *testing.T) {
	e := a.e
	want := map[string]string{v1.MembershipFederation: fedName, v1.MembershipDomain: fedDomain, v1.MembershipCluster: east,
		v1.MembershipRegion: "us-east", v1.MembershipZone: "us-east-1a"}
	testcluster.Eventually(t, wait, "membership ConfigMap", func() bool {
		cm := get[*v1.ConfigMap](e, e.mem.Admin, v1.NamespaceSystem, v1.MembershipConfigMap)
		return cm != nil && reflect.DeepEqual(cm.Data, want)
	})
}

func (a *agentTest) appliesConfigMap(t *testing.T) {
	e := a.e
	e.putWork(east, "settings", configMap("apps", "settings", map[string]string{"level": "1"}))
	e.workApplied(east, "settings")
	cm := get[*v1.ConfigMap](e, e.mem.Admin, "apps", "settings")
	if cm == nil || cm.Data["level"] != "1" || cm.Labels["app"] != "settings" || !ownedBy(cm, east, "settings", "1") {
		t.Fatalf("member ConfigMap = %+v", cm)
	}
}

func (a *agentTest) appliesPetSet(t *testing.T) {
	e := a.e
	e.putWork(east, "db", petSet("apps", "db", 2))
	e.workApplied(east, "db")
	ps := get[*v1.PetSet](e, e.mem.Admin, "apps", "db")
	if ps == nil || !ownedBy(ps, east, "db", "1") || *ps.Spec.Replicas != 2 {
		t.Fatalf("member PetSet = %+v", ps)
	}
	for ready := int32(1); ready <= 2; ready++ {
		ps = get[*v1.PetSet](e, e.mem.Admin, "apps", "db")
		ps.Status = v1.PetSetStatus{Replicas: 2, ReadyReplicas: ready, AvailableReplicas: ready}
		if _, err := client.For[*v1.PetSet](e.mem.Admin, "apps").UpdateStatus(e.ctx, ps); err != nil {
			t.Fatal(err)
		}
		testcluster.Eventually(t, wait, "readyReplicas on the Work", func() bool {
			w := get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace(east), "db")
			var st v1.PetSetStatus
			return json.Unmarshal(w.Status.ResourceStatus, &st) == nil && st.ReadyReplicas == ready
		})
	}
}

func (a *agentTest) appliesGeneration(t *testing.T) {
	e := a.e
	w := e.putWork(east, "settings", configMap("apps", "settings", map[string]string{"level": "2"}))
	if w.Generation != 2 {
		t.Fatalf("Work generation = %d, want 2", w.Generation)
	}
	e.workApplied(east, "settings")
	cm := get[*v1.ConfigMap](e, e.mem.Admin, "apps", "settings")
	if cm.Data["level"] != "2" || !ownedBy(cm, east, "settings", "2") {
		t.Fatalf("member ConfigMap = %+v", cm)
	}
}

func (a *agentTest) leavesOthersAlone(t *testing.T) {
	e := a.e
	e.putWork(east, "taken", configMap(v1.NamespaceDefault, "taken", map[string]string{"mine": "no"}))
	testcluster.Eventually(t, wait, "Conflict on the Work", func() bool {
		c := condition(get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace(east), "taken"), v1.WorkApplied)
		return c.Status == v1.ConditionFalse && c.Reason == member.ReasonConflict && c.Message != ""
	})
	cm := get[*v1.ConfigMap](e, e.mem.Admin, v1.NamespaceDefault, "taken")
	if cm.ResourceVersion != a.taken.ResourceVersion || cm.Data["mine"] != "yes" {
		t.Fatalf("the member's own ConfigMap was written: %+v", cm)
	}
}

func (a *agentTest) reportsRefusal(t *testing.T) {
	e := a.e
	e.putWork(east, "bad", configMap("apps", "bad", map[string]string{"not a key!": "x"}))
	testcluster.Eventually(t, wait, "the member's error on the Work", func() bool {
		c := condition(get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace(east), "bad"), v1.WorkApplied)
		return c.Status == v1.ConditionFalse && c.Reason == member.ReasonApplyFailed && strings.Contains(c.Message, "not a key!")
	})
	e.putWork(east, "unknown", configMap("apps", "unknown", nil))
	// The agent writes the Work's status meanwhile: update the version
	// read last.
	testcluster.Eventually(t, wait, "Work unknown updated", func() bool {
		w := get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace(east), "unknown")
		w.Spec.Manifest = json.RawMessage(`{"apiVersion":"v1","kind":"Gadget","metadata":{"name":"g"}}`)
		_, err := client.For[*v1.Work](e.fed.Admin, w.Namespace).Update(e.ctx, w)
		if err != nil && !v1.IsConflict(err) {
			t.Fatal(err)
		}
		return err == nil
	})
	testcluster.Eventually(t, wait, "InvalidManifest on the Work", func() bool {
		c := condition(get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace(east), "unknown"), v1.WorkApplied)
		return c.Status == v1.ConditionFalse && c.Reason == member.ReasonInvalidManifest && c.ObservedGeneration == 2
	})
}

func (a *agentTest) reportsEndpoints(t *testing.T) {
	e := a.e
	e.putWork(east, "db-svc", service("apps", "db"))
	e.workApplied(east, "db-svc")
	// What the member's endpoints controller writes: the Service's
	// labels, and its pods' addresses.
	e.create(e.mem.Admin, &v1.Endpoints{
		ObjectMeta: v1.ObjectMeta{Name: "db", Namespace: "apps", Labels: map[string]string{v1.LabelFederation: fedName}},
		Subsets: []v1.EndpointSubset{{
			Addresses:         []v1.EndpointAddress{{IP: "10.0.0.1", Hostname: "db-0"}},
			NotReadyAddresses: []v1.EndpointAddress{{IP: "10.0.0.2", Hostname: "db-1"}},
			Ports:             []v1.EndpointPort{{Name: "db", Port: 5432}},
		}},
	})
	testcluster.Eventually(t, wait, "addresses on the Work", func() bool {
		w := get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace(east), "db-svc")
		return len(w.Status.ReadyAddresses) == 1 && w.Status.ReadyAddresses[0].IP == "10.0.0.1" && w.Status.ReadyAddresses[0].Hostname == "db-0" &&
			len(w.Status.NotReadyAddresses) == 1 && w.Status.NotReadyAddresses[0].IP == "10.0.0.2"
	})
}

func (a *agentTest) mirrorsEndpoints(t *testing.T) {
	e := a.e
	fe := &v1.FederatedEndpoints{
		ObjectMeta: v1.ObjectMeta{Name: v1.FederatedEndpointsName("apps", "db"), Namespace: v1.NamespaceFederation, Labels: map[string]string{"svc": "db"}},
		Spec: v1.FederatedEndpointsSpec{Federation: fedName, Domain: fedDomain, Namespace: "apps", Service: "db",
			Shards: []v1.ServiceShard{{Cluster: east, Region: "us-east", Zone: "us-east-1a", Healthy: true, Addresses: []string{"10.0.0.1"},
				Pets: []v1.PetAddress{{Hostname: "db-0", IP: "10.0.0.1"}}}}},
	}
	e.create(e.fed.Admin, fe)
	testcluster.Eventually(t, wait, "mirrored FederatedEndpoints", func() bool {
		c := get[*v1.FederatedEndpoints](e, e.mem.Admin, v1.NamespaceFederation, fe.Name)
		return c != nil && reflect.DeepEqual(c.Spec, fe.Spec) && c.Labels["svc"] == "db" && c.Labels[v1.LabelFederation] == fedName
	})
	if _, err := client.For[*v1.FederatedEndpoints](e.fed.Admin, v1.NamespaceFederation).Delete(e.ctx, fe.Name, client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, wait, "mirrored FederatedEndpoints deleted", func() bool {
		return get[*v1.FederatedEndpoints](e, e.mem.Admin, v1.NamespaceFederation, fe.Name) == nil
	})
}

func (a *agentTest) deletesWithWork(t *testing.T) {
	e := a.e
	e.deleteWork(east, "settings")
	testcluster.Eventually(t, wait, "member ConfigMap deleted", func() bool {
		return get[*v1.ConfigMap](e, e.mem.Admin, "apps", "settings") == nil
	})
}

func (a *agentTest) restarts(t *testing.T) {
	e := a.e
	a.stop()
	e.deleteWork(east, "db")
	// A label a member tool added is no reason to write.
	svc := get[*v1.Service](e, e.mem.Admin, "apps", "db")
	svc.Labels["added-in-member"] = "yes"
	svc, err := client.For[*v1.Service](e.mem.Admin, "apps").Update(e.ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	svcWork := get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace(east), "db-svc")
	takenWork := get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace(east), "taken")
	fedBefore, memBefore := e.writes(e.fedMetrics), e.writes(e.memMetrics)
	e.startAgent(e.config(east))
	testcluster.Eventually(t, wait, "the PetSet of the Work deleted while away", func() bool {
		return get[*v1.PetSet](e, e.mem.Admin, "apps", "db") == nil
	})
	// A Work put after the restart is synced after those that were
	// there before it.
	e.putWork(east, "probe", configMap("apps", "probe", nil))
	e.workApplied(east, "probe")
	if got := get[*v1.Service](e, e.mem.Admin, "apps", "db"); got.ResourceVersion != svc.ResourceVersion {
		t.Errorf("the member Service was written again: resourceVersion %s → %s", svc.ResourceVersion, got.ResourceVersion)
	}
	for _, w := range []*v1.Work{svcWork, takenWork} {
		if got := get[*v1.Work](e, e.fed.Admin, w.Namespace, w.Name); got.ResourceVersion != w.ResourceVersion {
			t.Errorf("the status of Work %s was written again: resourceVersion %s → %s", w.Name, w.ResourceVersion, got.ResourceVersion)
		}
	}
	if cm := get[*v1.ConfigMap](e, e.mem.Admin, v1.NamespaceDefault, "taken"); cm.ResourceVersion != a.taken.ResourceVersion {
		t.Errorf("the member's own ConfigMap was written")
	}
	// Not even a write the server found to change nothing: the
	// member saw the sweep's delete, the probe's create and another
	// try of the create it refused; the federation the probe Work and
	// its status (and the Cluster's and Lease's, which are not counted).
	// The fence ConfigMap is written after every renewal: its updates
	// are not counted (the ConfigMaps of Works are checked above).
	got := since(memBefore, e.writes(e.memMetrics))
	delete(got, "update configmaps")
	if want := map[string]float64{"delete petsets": 1, "create configmaps": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("writes to the member = %v, want %v", got, want)
	}
	if got, want := since(fedBefore, e.writes(e.fedMetrics), "clusters", "leases"), map[string]float64{"create works": 1, "update works": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("writes to the federation = %v, want %v", got, want)
	}
}

// With a token of the cluster role, as `kennel federation join` gives a
// member, the agent can do all it needs: register (which binds the
// token), renew, report, apply and report Works, and mirror.
func TestAgentWithClusterToken(t *testing.T) {
	e := newEnv(t)
	const cluster = "north"
	e.memberNamespace(cluster)
	// The federation's admin may have made the Cluster first.
	e.create(e.fed.Admin, &v1.Cluster{ObjectMeta: v1.ObjectMeta{Name: cluster}, Spec: v1.ClusterSpec{Region: "old"}})
	cfg := e.config(cluster)
	cfg.Federation = e.fed.Client(e.fed.Token(apiserver.RoleCluster, ""))
	stop := e.startAgent(cfg)
	e.create(e.fed.Admin, &v1.FederatedEndpoints{
		ObjectMeta: v1.ObjectMeta{Name: "apps.web", Namespace: v1.NamespaceFederation},
		Spec:       v1.FederatedEndpointsSpec{Federation: fedName, Domain: fedDomain, Namespace: "apps", Service: "web"},
	})
	e.putWork(cluster, "db", petSet("apps", "db", 1))
	e.workApplied(cluster, "db")
	testcluster.Eventually(t, wait, "Cluster, Lease and mirror", func() bool {
		cl := get[*v1.Cluster](e, e.fed.Admin, "", cluster)
		l := get[*v1.Lease](e, e.fed.Admin, v1.NamespaceClusterLeases, cluster)
		return cl.Spec.Region == "us-east" && cl.Status.LastRenewTime != nil && l != nil &&
			get[*v1.FederatedEndpoints](e, e.mem.Admin, v1.NamespaceFederation, "apps.web") != nil
	})
	// What Leave does on the federation is allowed too.
	stop()
	if err := member.Leave(e.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if get[*v1.Cluster](e, e.fed.Admin, "", cluster) != nil || get[*v1.PetSet](e, e.mem.Admin, "apps", "db") != nil {
		t.Error("Leave left the Cluster or the PetSet")
	}
}
