package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// contextClient is an admin client of a context of the config file.
func (k *kennel) contextClient(name string) *client.Client {
	k.t.Helper()
	f, err := client.LoadFile(filepath.Join(k.home, "config"))
	if err != nil {
		k.t.Fatal(err)
	}
	ctx, err := f.Context(name)
	if err != nil {
		k.t.Fatal(err)
	}
	c, err := client.New(ctx.Config())
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(c.Close)
	return c
}

// member is one member cluster: a `kennel up` of its own.
type member struct {
	name, context, region, zone, compliance string
	c                                       *client.Client
	cmd                                     *exec.Cmd
}

// federation starts `kennel federation up` on fixed ports (it is
// restarted on them) and returns the process.
func (k *kennel) federation(port, dnsPort int) *exec.Cmd {
	return k.startDaemon("Kennel federation", "federation", "up", "--name", "fed", "--domain", "example.com",
		"--data-dir", filepath.Join(k.home, "fed"), "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--dns-addr", fmt.Sprintf("127.0.0.1:%d", dnsPort), "--cluster-grace-period", "10s", "--log-level", "warn")
}

// startMembers runs three member clusters and joins them to the
// federation at url.
func (k *kennel) startMembers(t *testing.T, url string) []*member {
	return k.startMembersVia(t, func(int) string { return url })
}

// startMembersVia is startMembers with member i reaching the federation
// at url(i) (a fault proxy, say).
func (k *kennel) startMembersVia(t *testing.T, url func(i int) string) []*member {
	return k.startMemberList(t, url, []*member{
		{name: "eu-1", region: "eu-west", zone: "eu-west-1a", compliance: "gdpr"},
		{name: "eu-2", region: "eu-west", zone: "eu-west-1b", compliance: "gdpr"},
		{name: "us-1", region: "us-east", zone: "us-east-1a", compliance: "none"},
	})
}

// startMemberList runs and joins the given members.
func (k *kennel) startMemberList(t *testing.T, url func(i int) string, members []*member) []*member {
	for i, m := range members {
		m.context = "m-" + m.name
		m.cmd = k.startDaemon("Kennel is up", "up", "--data-dir", filepath.Join(k.home, m.name), "--listen", "127.0.0.1:0",
			"--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", fmt.Sprintf("127.0.9.%d", 11+i), "--context-name", m.context,
			"--first-pod-range", strconv.Itoa(50+10*i), "--log-level", "warn", "--node-storage", "iops=5000,bandwidth=500Mi,capacity=2Gi")
		m.c = k.contextClient(m.context)
		t.Cleanup(func() { emptyMember(t, m.c) })
		// Each member names its storage its own way: the Placement's
		// override gives us-1's claims its class.
		class := map[bool]string{true: "local", false: "fast"}[m.compliance == "gdpr"]
		k.mustRun("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: "+class+"}\nprovisioner: kennel.io/local\nvolumeBindingMode: WaitForFirstConsumer\n",
			"--context", m.context, "apply", "-f", "-")
		tok := strings.TrimSpace(k.mustRun("", "--context", "fed", "federation", "token", "create", "--cluster", m.name))
		k.mustRun("", "--context", m.context, "federation", "join", "--url", url(i), "--ca-file", filepath.Join(k.home, "fed", "pki", "ca.crt"), "--token", tok, "--cluster", m.name,
			"--labels", fmt.Sprintf("region=%s,zone=%s,compliance=%s", m.region, m.zone, m.compliance))
	}
	return members
}

// emptyMember deletes what runs in a member (pods outlive `kennel up`
// by design, not the test).
func emptyMember(t *testing.T, c *client.Client) {
	ctx := context.Background()
	for _, kind := range []string{"PetSet", "Deployment"} {
		k, _ := c.Registry().ByKind(kind)
		res := client.ForKind(c, k, "default")
		if l, err := res.List(ctx, client.ListOptions{}); err == nil {
			for _, o := range l.Items {
				res.Delete(ctx, o.GetObjectMeta().Name, client.DeleteOptions{PropagationPolicy: "Background"})
			}
		}
	}
	testcluster.Eventually(t, time.Minute, "every pod of the member stopped", func() bool {
		pods, err := client.For[*v1.Pod](c, "default").List(ctx, client.ListOptions{})
		if err != nil {
			// The member's control plane is gone (a test stopped it);
			// nothing can be asked of it.
			return errors.Is(err, syscall.ECONNREFUSED)
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				client.For[*v1.Pod](c, "default").Delete(ctx, p.Name, client.DeleteOptions{})
			}
		}
		return err == nil && len(pods.Items) == 0
	})
}

const federatedDB = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: peer, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 5
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: main
        command: ["sh", "-c", "echo $(POD_NAME) $$(date +%%s%%N) >> %s && exec %s --listen $(POD_IP):8080 --ready-after 1s"]
        readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      storageClassName: local
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 64Mi}}
---
apiVersion: kennel.io/v1
kind: Placement
metadata: {name: db}
spec:
  resourceSelectors:
  - {apiVersion: apps/v1, kind: StatefulSet, name: db}
  - {apiVersion: v1, kind: Service, name: db}
  replicaScheduling:
    type: Divided
    weights:
    - {clusters: [eu-1], weight: 2}
    - {clusters: [eu-2], weight: 2}
    - {clusters: [us-1], weight: 1}
  overrides:
  - clusters: [us-1]
    resourceSelectors: [{kind: StatefulSet, name: db}]
    set: [{path: "spec.volumeClaimTemplates[0].spec.storageClassName", value: fast}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: records}
spec:
  replicas: 1
  selector: {matchLabels: {app: records}}
  template:
    metadata: {labels: {app: records}}
    spec:
      containers:
      - {name: main, command: ["sleep", "100000"]}
---
apiVersion: kennel.io/v1
kind: Placement
metadata: {name: records}
spec:
  resourceSelectors:
  - {apiVersion: apps/v1, kind: Deployment, name: records}
  clusterAffinity:
    labelSelector:
      matchExpressions: [{key: compliance, operator: In, values: [gdpr]}]
`

// TestFederationEndToEnd: a federation and three members, each a real
// `kennel up`: a 5-pet PetSet divided over them gets ordinals 0-4, once
// each and started in order across clusters, with its claims; a gdpr
// Deployment never lands on the non-gdpr member; federated names resolve
// from inside every member; restarting the federation loses nothing and
// restarts no pod; deleting on the federation empties the members.
func TestFederationEndToEnd(t *testing.T) {
	requireRoot(t, "pods resolve through their member's DNS (resolv.conf) and local volumes are mounted only as root")
	k := build(t)
	wl := filepath.Join(filepath.Dir(k.bin), "workload")
	if out, err := exec.Command("go", "build", "-o", wl, "../workload").CombinedOutput(); err != nil {
		t.Fatalf("build workload: %v\n%s", err, out)
	}
	history := filepath.Join(t.TempDir(), "history")
	port, dnsPort := freePort(t), freePort(t)
	fedCmd := k.federation(port, dnsPort)
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	members := k.startMembers(t, url)
	fed := k.contextClient("fed")
	ctx := context.Background()

	k.mustRun(fmt.Sprintf(federatedDB, history, wl), "--context", "fed", "apply", "-f", "-")
	want := map[string][]string{"eu-1": {"db-0", "db-1"}, "eu-2": {"db-2", "db-3"}, "us-1": {"db-4"}}
	pets := map[string]*v1.Pod{}
	for _, m := range members {
		testcluster.Eventually(t, 3*time.Minute, m.name+" runs its pets", func() bool {
			pods, err := client.For[*v1.Pod](m.c, "default").List(ctx, client.ListOptions{LabelSelector: "app=db"})
			if err != nil {
				return false
			}
			var names []string
			for _, p := range pods.Items {
				if v1.IsPodReady(p) {
					names = append(names, p.Name)
					pets[p.Name] = p
				}
			}
			slices.Sort(names)
			return slices.Equal(names, want[m.name])
		})
		for _, pet := range want[m.name] {
			pvc, err := client.For[*v1.PersistentVolumeClaim](m.c, "default").Get(ctx, "data-"+pet)
			if err != nil {
				t.Errorf("%s: claim data-%s: %v", m.name, pet, err)
				continue
			}
			if class := map[bool]string{true: "local", false: "fast"}[m.compliance == "gdpr"]; pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != class {
				t.Errorf("%s: claim data-%s has class %v, want %s (the override)", m.name, pet, pvc.Spec.StorageClassName, class)
			}
		}
	}
	starts := readHistory(t, history)
	if len(starts) != 5 {
		t.Fatalf("pets started %d times, want 5 (once each): %v", len(starts), starts)
	}
	for i := 1; i < 5; i++ {
		prev, cur := starts[fmt.Sprintf("db-%d", i-1)], starts[fmt.Sprintf("db-%d", i)]
		// OrderedReady across clusters: pet i starts only after pet i-1
		// is Ready, which takes it at least --ready-after (1 s).
		if cur.Sub(prev) < 900*time.Millisecond {
			t.Errorf("db-%d started %v after db-%d: not after it was Ready", i, cur.Sub(prev), i-1)
		}
	}
	testcluster.Eventually(t, time.Minute, "summed status on the federation", func() bool {
		ps, err := client.For[*v1.PetSet](fed, "default").Get(ctx, "db")
		return err == nil && ps.Status.ReadyReplicas == 5
	})
	checkGDPR(t, members)
	for _, m := range members {
		checkFederatedDNS(t, k, m, pets, want)
	}

	// Restart the federation: nothing lost, no pod restarted.
	before := podIdentities(t, members)
	fedCmd.Process.Signal(syscall.SIGTERM)
	fedCmd.Wait()
	k.federation(port, dnsPort)
	testcluster.Eventually(t, time.Minute, "members Ready again", func() bool {
		l, err := client.For[*v1.Cluster](fed, "").List(ctx, client.ListOptions{})
		n := 0
		for _, c := range l.Items {
			for _, cond := range c.Status.Conditions {
				if cond.Type == v1.ClusterReady && cond.Status == v1.ConditionTrue && c.Status.LastRenewTime != nil {
					n++
				}
			}
		}
		return err == nil && n == 3
	})
	out := k.mustRun("", "--context", "fed", "federation", "status")
	if !strings.Contains(out, "eu-1 0-1, eu-2 2-3, us-1 4-4") {
		t.Errorf("federation status after the restart:\n%s", out)
	}
	if after := podIdentities(t, members); !sameMap(before, after) {
		t.Errorf("pods changed across the federation's restart:\nbefore %v\nafter  %v", before, after)
	}
	if n := len(readHistory(t, history)); n != 5 {
		t.Errorf("pets started %d times after the federation's restart, want 5", n)
	}
	checkGDPR(t, members)

	// Delete on the federation: the members are emptied.
	k.mustRun(fmt.Sprintf(federatedDB, history, wl), "--context", "fed", "delete", "-f", "-")
	for _, m := range members {
		testcluster.Eventually(t, 2*time.Minute, m.name+" emptied", func() bool {
			pods, err1 := client.For[*v1.Pod](m.c, "default").List(ctx, client.ListOptions{})
			sets, err2 := client.For[*v1.PetSet](m.c, "default").List(ctx, client.ListOptions{})
			svcs, err3 := client.For[*v1.Service](m.c, "default").List(ctx, client.ListOptions{})
			deps, err4 := client.For[*v1.Deployment](m.c, "default").List(ctx, client.ListOptions{})
			return err1 == nil && err2 == nil && err3 == nil && err4 == nil &&
				len(pods.Items)+len(sets.Items)+len(svcs.Items)+len(deps.Items) == 0
		})
	}

	// A member leaves: its Cluster goes from the federation.
	k.mustRun("", "--context", members[2].context, "federation", "unjoin")
	testcluster.Eventually(t, time.Minute, "us-1 gone from the federation", func() bool {
		_, err := client.For[*v1.Cluster](fed, "").Get(ctx, "us-1")
		return v1.IsNotFound(err)
	})
	if out := k.mustRun("", "--context", "fed", "federation", "status"); strings.Contains(out, "us-1") || !strings.Contains(out, "eu-2") {
		t.Errorf("federation status after us-1 left:\n%s", out)
	}
}

// readHistory is each pet's start time, from the lines the pets append.
func readHistory(t *testing.T, path string) map[string]time.Time {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		name, ns, ok := strings.Cut(line, " ")
		n, err := strconv.ParseInt(ns, 10, 64)
		if !ok || err != nil {
			t.Fatalf("history line %q", line)
		}
		if _, dup := out[name]; dup {
			out[name+"#"+ns] = time.Unix(0, n) // counted as another start
			continue
		}
		out[name] = time.Unix(0, n)
	}
	return out
}

// checkGDPR: the gdpr-only Deployment runs in the gdpr members only.
func checkGDPR(t *testing.T, members []*member) {
	t.Helper()
	for _, m := range members {
		testcluster.Eventually(t, time.Minute, "records placed by compliance in "+m.name, func() bool {
			_, err := client.For[*v1.Deployment](m.c, "default").Get(context.Background(), "records")
			if m.compliance != "gdpr" {
				return v1.IsNotFound(err)
			}
			return err == nil
		})
	}
}

// checkFederatedDNS resolves the federated names from inside a pet of
// member m (getent, through the pod's resolv.conf and its member's DNS).
func checkFederatedDNS(t *testing.T, k *kennel, m *member, pets map[string]*v1.Pod, want map[string][]string) {
	t.Helper()
	ips := func(names ...string) string {
		var out []string
		for _, n := range names {
			out = append(out, pets[n].Status.PodIP)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	pet := want[m.name][0]
	cases := map[string]string{
		"db-3.db.default.fed.svc.example.com":               ips("db-3"),
		"db.default.fed.svc.eu-west-1a.eu-west.example.com": ips("db-0", "db-1"),
		"db.default.fed.svc.us-east-1a.us-east.example.com": ips("db-4"),
		"db.default.fed.svc.eu-west.example.com":            ips("db-0", "db-1", "db-2", "db-3"),
		"db.default.fed.svc.example.com":                    ips("db-0", "db-1", "db-2", "db-3", "db-4"),
		"db.default.fed.svc.cluster.local":                  ips(want[m.name]...),
	}
	for name, wantIPs := range cases {
		testcluster.Eventually(t, 30*time.Second, name+" from inside "+m.name, func() bool {
			out, _, err := k.run("", "--context", m.context, "exec", pet, "--", "getent", "ahostsv4", name)
			if err != nil {
				return false
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if f := strings.Fields(line); len(f) > 0 && !slices.Contains(got, f[0]) {
					got = append(got, f[0])
				}
			}
			slices.Sort(got)
			return strings.Join(got, " ") == wantIPs
		})
	}
}

// podIdentities is each pod's uid, container and restart count.
func podIdentities(t *testing.T, members []*member) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range members {
		pods, err := client.For[*v1.Pod](m.c, "default").List(context.Background(), client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			id := p.UID
			for _, cs := range p.Status.ContainerStatuses {
				id += fmt.Sprintf(" %s/%d", cs.ContainerID, cs.RestartCount)
			}
			out[m.name+"/"+p.Name] = id
		}
	}
	return out
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
