package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// TestPetsSpreadOverZonesAndIOPSPending: on three nodes in three zones, a
// three-pet PetSet that says nothing of placement lands one pet per zone
// (default pet spreading); a pet whose claim asks for more write IOPS than
// any device has left stays Pending, and says so.
func TestPetsSpreadOverZonesAndIOPSPending(t *testing.T) {
	k := build(t)
	k.startDaemon("Kennel is up", "server", "--data-dir", filepath.Join(k.home, "data"), "--listen", "127.0.0.1:0", "--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", "",
		"--write-config", "--log-level", "warn")
	c := k.client()
	for i, zone := range []string{"a", "b", "c"} {
		name := "zn-" + zone
		if err := os.MkdirAll(filepath.Join(k.home, "pool-"+name), 0o700); err != nil {
			t.Fatal(err)
		}
		tok := strings.TrimSpace(k.mustRun("", "token", "create", "--role", "node", "--description", name))
		k.startDaemon("Kennel agent for node", "agent", "--name", name, "--token", tok, "--pod-cidr", fmt.Sprintf("127.8%d.0.0/16", i),
			"--data-dir", filepath.Join(k.home, "agent-"+name), "--log-level", "warn",
			"--labels", "topology.kubernetes.io/zone=zone-"+zone+",topology.kubernetes.io/region=test",
			"--storage", filepath.Join(k.home, "pool-"+name)+":iops=1000,bandwidth=100Mi,capacity=1Gi")
	}
	testcluster.Eventually(t, 30*time.Second, "three nodes Ready", func() bool {
		nodes, err := client.For[*v1.Node](c, "").List(context.Background(), client.ListOptions{})
		ready := 0
		for _, n := range nodes.Items {
			if nodeIsReady(n) {
				ready++
			}
		}
		return err == nil && ready == 3
	})
	t.Cleanup(func() {
		ctx := context.Background()
		for _, s := range []string{"spread", "greedy"} {
			client.For[*v1.PetSet](c, "default").Delete(ctx, s, client.DeleteOptions{})
		}
		for _, p := range []string{"ballast-zn-b", "ballast-zn-c"} {
			client.For[*v1.Pod](c, "default").Delete(ctx, p, client.DeleteOptions{})
		}
		testcluster.Eventually(t, time.Minute, "every pod stopped", func() bool {
			pods, err := client.For[*v1.Pod](c, "default").List(ctx, client.ListOptions{})
			return err == nil && len(pods.Items) == 0
		})
	})

	// Ballast on two of the zones, so that resource scoring alone would
	// stack the pets on the emptiest node.
	for _, node := range []string{"zn-b", "zn-c"} {
		k.mustRun(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: ballast-%s}
spec:
  nodeSelector: {kubernetes.io/hostname: %s}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    command: [sleep, "3600"]
    resources: {requests: {cpu: 500m, memory: 4Gi}}
`, node, node), "apply", "-f", "-")
	}
	k.mustRun(`apiVersion: v1
kind: Service
metadata: {name: spread}
spec: {clusterIP: None, selector: {app: spread}}
---
apiVersion: apps/v1
kind: PetSet
metadata: {name: spread}
spec:
  serviceName: spread
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: main, command: [sleep, "3600"]}
`, "apply", "-f", "-")
	zones := map[string]string{}
	testcluster.Eventually(t, time.Minute, "three pets running", func() bool {
		for i := range 3 {
			p := getPod(t, c, fmt.Sprintf("spread-%d", i))
			if p == nil || p.Spec.NodeName == "" || p.Status.Phase != v1.PodRunning {
				return false
			}
			zones[p.Name] = p.Spec.NodeName
		}
		return true
	})
	seen := map[string]string{}
	for pet, node := range zones {
		if other, dup := seen[node]; dup {
			t.Fatalf("pets %s and %s share node %s (zone); placement %v", pet, other, node, zones)
		}
		seen[node] = pet
	}

	// A claim that asks for 5,000 write IOPS, where each device has 1,000.
	k.mustRun(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: hungry}
provisioner: kennel.io/local
volumeBindingMode: WaitForFirstConsumer
parameters: {writeIOPS: "5000"}
---
apiVersion: apps/v1
kind: PetSet
metadata: {name: greedy}
spec:
  serviceName: spread
  replicas: 1
  selector: {matchLabels: {app: greedy}}
  template:
    metadata: {labels: {app: greedy}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        command: [sleep, "3600"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      storageClassName: hungry
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 100Mi}}
`, "apply", "-f", "-")
	var msg string
	testcluster.Eventually(t, 30*time.Second, "greedy-0 Pending for storage IOPS", func() bool {
		p := getPod(t, c, "greedy-0")
		if p == nil {
			return false
		}
		if p.Spec.NodeName != "" {
			t.Fatalf("greedy-0 was placed on %s although no device has 5,000 IOPS left", p.Spec.NodeName)
		}
		cond := v1.GetPodCondition(&p.Status, v1.PodScheduled)
		if cond == nil {
			return false
		}
		msg = cond.Message
		return cond.Status == v1.ConditionFalse && strings.Contains(msg, "0/3 nodes are available: 3 insufficient storage IOPS")
	})
	out := k.mustRun("", "describe", "pod", "greedy-0")
	if !strings.Contains(out, "insufficient storage IOPS") {
		t.Fatalf("kennel describe pod does not show why the pet waits (%q):\n%s", msg, out)
	}
}

// TestSchedulerConfigFile: `kennel server --scheduler-config` runs one
// scheduler per profile of a KubeSchedulerConfiguration file (a pod naming
// the second profile is placed), and a file with a mistake is refused at
// start with the field named.
func TestSchedulerConfigFile(t *testing.T) {
	k := build(t)
	if err := os.MkdirAll(k.home, 0o700); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(k.home, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      enabled: [{name: NoSuchPlugin, weight: 2}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := k.run("", "server", "--data-dir", filepath.Join(k.home, "bad-data"), "--listen", "127.0.0.1:0",
		"--dns-addr", "", "--scheduler-config", bad)
	if err == nil || !strings.Contains(errOut, "NoSuchPlugin") {
		t.Fatalf("kennel server with an unknown plugin: err %v, stderr %q; want a refusal naming the plugin", err, errOut)
	}

	good := filepath.Join(k.home, "scheduler.yaml")
	if err := os.WriteFile(good, []byte(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: batch-scheduler
  plugins:
    score:
      enabled: [{name: NodeResourcesFit, weight: 5}]
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	k.startDaemon("Kennel is up", "server", "--data-dir", filepath.Join(k.home, "data"), "--listen", "127.0.0.1:0", "--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", "",
		"--write-config", "--log-level", "warn", "--scheduler-config", good)
	c := k.client()
	tok := strings.TrimSpace(k.mustRun("", "token", "create", "--role", "node", "--description", "cfg-n1"))
	k.startDaemon("Kennel agent for node", "agent", "--name", "cfg-n1", "--token", tok, "--pod-cidr", "127.86.0.0/16",
		"--data-dir", filepath.Join(k.home, "agent-cfg-n1"), "--log-level", "warn")
	t.Cleanup(func() {
		client.For[*v1.Pod](c, "default").Delete(context.Background(), "batch", client.DeleteOptions{})
		testcluster.Eventually(t, time.Minute, "pod batch gone", func() bool {
			pods, err := client.For[*v1.Pod](c, "default").List(context.Background(), client.ListOptions{})
			return err == nil && len(pods.Items) == 0
		})
	})
	k.mustRun(`apiVersion: v1
kind: Pod
metadata: {name: batch}
spec:
  schedulerName: batch-scheduler
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, command: [sleep, "3600"]}
`, "apply", "-f", "-")
	testcluster.Eventually(t, 30*time.Second, "pod batch placed by batch-scheduler", func() bool {
		p := getPod(t, c, "batch")
		return p != nil && p.Spec.NodeName == "cfg-n1"
	})
}
