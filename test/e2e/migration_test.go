package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

const federatedRedis = `apiVersion: v1
kind: Service
metadata: {name: redis}
spec:
  clusterIP: None
  selector: {app: redis}
  ports: [{name: redis, port: 6379}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: redis}
spec:
  serviceName: redis
  replicas: 1
  selector: {matchLabels: {app: redis}}
  template:
    metadata: {labels: {app: redis}}
    spec:
      containers:
      - name: redis
        command: ["sh", "-c", "exec %s --bind $(POD_IP) --port 6379 --dir /data --save '' --appendonly yes --appendfsync always --protected-mode no"]
        readinessProbe: {tcpSocket: {port: 6379}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      storageClassName: local
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 256Mi}}
---
apiVersion: kennel.io/v1
kind: Placement
metadata: {name: redis}
spec:
  resourceSelectors:
  - {apiVersion: apps/v1, kind: StatefulSet, name: redis}
  - {apiVersion: v1, kind: Service, name: redis}
  replicaScheduling:
    type: Divided
    weights:
    - {clusters: [eu-1], weight: 1}
    - {clusters: [eu-2], weight: 0}
`

// TestMigrationWithRedis: a Redis pet (Debian's redis-server, its data in
// an append-only file on its local volume) runs in member eu-1; `kennel
// federation migrate` moves it to eu-2: the keys written before are all
// there after, served by redis-0 in eu-2 under the same DNS names, and
// eu-1 keeps neither the pod nor its claim.
func TestMigrationWithRedis(t *testing.T) {
	requireRoot(t, "local volumes are mounted and pods resolve through Kennel DNS only as root")
	redis := requireBinary(t, "redis-server", "redis-server")
	cli := requireBinary(t, "redis-cli", "redis-server")
	k := build(t)
	port, dnsPort := freePort(t), freePort(t)
	k.federation(port, dnsPort)
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	members := k.startMemberList(t, func(int) string { return url }, []*member{
		{name: "eu-1", region: "eu-west", zone: "eu-west-1a", compliance: "gdpr"},
		{name: "eu-2", region: "eu-west", zone: "eu-west-1b", compliance: "gdpr"},
	})
	eu1, eu2 := members[0], members[1]
	ctx := context.Background()
	k.mustRun(fmt.Sprintf(federatedRedis, redis), "--context", "fed", "apply", "-f", "-")

	pod := readyPod(t, eu1, "redis-0")
	rcli := func(ip string, stdin string, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, cli, append([]string{"-h", ip, "-p", "6379"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, _ := cmd.CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	const keys = 2000
	var cmds strings.Builder
	for i := range keys {
		fmt.Fprintf(&cmds, "SET key:%d value-%d-%s\n", i, i, strings.Repeat("x", 200))
	}
	rcli(pod.Status.PodIP, cmds.String())
	if n := rcli(pod.Status.PodIP, "", "DBSIZE"); n != fmt.Sprint(keys) {
		t.Fatalf("redis-0 in eu-1 holds %s keys, want %d", n, keys)
	}

	// At most one redis-0 at any time: watched from both members while
	// it moves (a pod object exists from before its process starts until
	// after it ended).
	stopWatch := make(chan struct{})
	both := make(chan string, 1)
	go func() {
		for {
			select {
			case <-stopWatch:
				close(both)
				return
			case <-time.After(50 * time.Millisecond):
			}
			_, err1 := client.For[*v1.Pod](eu1.c, "default").Get(ctx, "redis-0")
			p2, err2 := client.For[*v1.Pod](eu2.c, "default").Get(ctx, "redis-0")
			if err1 == nil && err2 == nil {
				select {
				case both <- fmt.Sprintf("redis-0 exists in eu-1 and in eu-2 (phase %s there)", p2.Status.Phase):
				default:
				}
			}
		}
	}()
	out := k.mustRun("", "--context", "fed", "federation", "migrate", "petset/redis", "--pet", "redis-0", "--to", "eu-2", "--timeout", "4m")
	t.Logf("kennel federation migrate:\n%s", out)
	for _, want := range []string{"100%", "runs in eu-2 with its data"} {
		if !strings.Contains(out, want) {
			t.Errorf("the command's output does not show %q", want)
		}
	}
	// The phases it went through (too fast, here, for the command to show
	// each): the federation records an Event per phase.
	fed := k.contextClient("fed")
	testcluster.Eventually(t, 30*time.Second, "an Event for each phase of the migration", func() bool {
		evs, err := client.For[*v1.Event](fed, "default").List(ctx, client.ListOptions{})
		if err != nil {
			return false
		}
		seen := map[string]bool{}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Name == "redis-0-to-eu-2" {
				seen[ev.Reason] = true
			}
		}
		return seen["Stopping"] && seen["Copying"] && seen["CleaningUp"] && seen["Succeeded"]
	})

	close(stopWatch)
	if msg, ok := <-both; ok {
		t.Fatal(msg)
	}
	moved := readyPod(t, eu2, "redis-0")
	if n := rcli(moved.Status.PodIP, "", "DBSIZE"); n != fmt.Sprint(keys) {
		t.Fatalf("redis-0 in eu-2 holds %s keys, want %d", n, keys)
	}
	for _, i := range []int{0, 1, keys / 2, keys - 1} {
		if got, want := rcli(moved.Status.PodIP, "", "GET", fmt.Sprintf("key:%d", i)), fmt.Sprintf("value-%d-%s", i, strings.Repeat("x", 200)); got != want {
			t.Fatalf("GET key:%d in eu-2 = %q, want %q", i, got, want)
		}
	}
	if len(moved.Status.VolumeRestores) != 1 || !moved.Status.VolumeRestores[0].Done {
		t.Errorf("the pod's volume restores: %+v, want one, done", moved.Status.VolumeRestores)
	}
	testcluster.Eventually(t, time.Minute, "the spent restore order leaves eu-2's claim", func() bool {
		c, err := client.For[*v1.PersistentVolumeClaim](eu2.c, "default").Get(ctx, "data-redis-0")
		return err == nil && c.Annotations[v1.AnnotationRestoreFrom] == ""
	})
	testcluster.Eventually(t, time.Minute, "eu-1 keeps neither the pod nor the claim", func() bool {
		_, err1 := client.For[*v1.Pod](eu1.c, "default").Get(ctx, "redis-0")
		_, err2 := client.For[*v1.PersistentVolumeClaim](eu1.c, "default").Get(ctx, "data-redis-0")
		return v1.IsNotFound(err1) && v1.IsNotFound(err2)
	})
	// The same names: the member's own and the federation's.
	testcluster.Eventually(t, 30*time.Second, "redis-0.redis.default.svc.cluster.local inside eu-2", func() bool {
		out, _, err := k.run("", "--context", eu2.context, "exec", "redis-0", "--", "getent", "ahostsv4", "redis-0.redis.default.svc.cluster.local")
		return err == nil && strings.HasPrefix(strings.TrimSpace(out), moved.Status.PodIP+" ")
	})
	testcluster.Eventually(t, 30*time.Second, "redis-0.redis.default.fed.svc.example.com on the federation's DNS", func() bool {
		out, _, err := k.run("", "dns", "query", "redis-0.redis.default.fed.svc.example.com", "--server", fmt.Sprintf("127.0.0.1:%d", dnsPort))
		return err == nil && strings.Contains(out, moved.Status.PodIP)
	})
	if got := rcli(moved.Status.PodIP, "", "GET", "key:7"); !strings.HasPrefix(got, "value-7-") {
		t.Fatalf("GET key:7 after the checks = %q", got)
	}
	m, err := client.For[*v1.Migration](fed, "default").Get(ctx, "redis-0-to-eu-2")
	if err != nil || m.Status.Phase != v1.MigrationSucceeded || m.Status.BytesTotal == 0 || m.Status.BytesDone != m.Status.BytesTotal {
		t.Fatalf("migration %+v (%v): want Succeeded with every byte copied", m.Status, err)
	}
	// A migration that cannot be: the command fails with the reason, and
	// the federation's status lists it.
	if _, errOut, err := k.run("", "--context", "fed", "federation", "migrate", "petset/redis", "--pet", "redis-5", "--to", "eu-1"); err == nil || !strings.Contains(errOut, "no pet 5") {
		t.Errorf("migrating redis-5: %v, %q; want a failure saying there is no pet 5", err, errOut)
	}
	if out := k.mustRun("", "--context", "fed", "federation", "status"); !strings.Contains(out, "redis-5-to-eu-1") || !strings.Contains(out, "Failed") {
		t.Errorf("federation status does not list the failed migration:\n%s", out)
	}
	deleteFederated(t, k, fmt.Sprintf(federatedRedis, redis), members)
}

// deleteFederated deletes a manifest's objects on the federation and
// waits until the members run none of their pods (the members' agents
// would put back what a test deleted in a member itself).
func deleteFederated(t *testing.T, k *kennel, manifest string, members []*member) {
	t.Helper()
	k.mustRun(manifest, "--context", "fed", "delete", "-f", "-")
	for _, m := range members {
		testcluster.Eventually(t, 2*time.Minute, m.name+" emptied", func() bool {
			pods, err := client.For[*v1.Pod](m.c, "default").List(context.Background(), client.ListOptions{})
			return err == nil && len(pods.Items) == 0
		})
	}
}

const federatedFiles = `apiVersion: v1
kind: Service
metadata: {name: files}
spec:
  clusterIP: None
  selector: {app: files}
  ports: [{name: p, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: files}
spec:
  serviceName: files
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: files}}
  template:
    metadata: {labels: {app: files}}
    spec:
      containers:
      - name: main
        command: ["sh", "-c", "[ -f /data/born ] || echo $(POD_NAME) $(POD_IP) > /data/born; exec sleep 100000"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      storageClassName: local
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 16Mi}}
---
apiVersion: kennel.io/v1
kind: Placement
metadata: {name: files}
spec:
  resourceSelectors:
  - {apiVersion: apps/v1, kind: StatefulSet, name: files}
  - {apiVersion: v1, kind: Service, name: files}
  replicaScheduling:
    type: Divided
    weights:
    - {clusters: [eu-1], weight: 1}
    - {clusters: [eu-2], weight: 0}
`

// TestMigrateAll: --all moves a 3-pet set from eu-1 to eu-2 one pet at a
// time, highest ordinal first, each with its data (the file the pet wrote
// when it was first born, in eu-1).
func TestMigrateAll(t *testing.T) {
	requireRoot(t, "local volumes are mounted only as root")
	k := build(t)
	port, dnsPort := freePort(t), freePort(t)
	k.federation(port, dnsPort)
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	members := k.startMemberList(t, func(int) string { return url }, []*member{
		{name: "eu-1", region: "eu-west", zone: "eu-west-1a", compliance: "gdpr"},
		{name: "eu-2", region: "eu-west", zone: "eu-west-1b", compliance: "gdpr"},
	})
	eu1, eu2 := members[0], members[1]
	k.mustRun(federatedFiles, "--context", "fed", "apply", "-f", "-")
	born := map[string]string{}
	for _, pet := range []string{"files-0", "files-1", "files-2"} {
		p := readyPod(t, eu1, pet)
		testcluster.Eventually(t, time.Minute, pet+" wrote its birth file", func() bool {
			out, _, err := k.run("", "--context", eu1.context, "exec", pet, "--", "cat", "/data/born")
			born[pet] = strings.TrimSpace(out)
			return err == nil && born[pet] == pet+" "+p.Status.PodIP
		})
	}
	out := k.mustRun("", "--context", "fed", "federation", "migrate", "petset/files", "--all", "--to", "eu-2", "--timeout", "4m")
	t.Logf("kennel federation migrate --all:\n%s", out)
	order := []string{}
	for _, line := range strings.Split(out, "\n") {
		if _, after, ok := strings.Cut(line, "created: "); ok {
			order = append(order, strings.Fields(after)[0])
		}
	}
	if strings.Join(order, " ") != "files-2 files-1 files-0" || !strings.Contains(out, "every pet of petset files runs in eu-2") {
		t.Fatalf("migrations in order %v, want files-2 files-1 files-0, and the end said", order)
	}
	for pet, want := range born {
		readyPod(t, eu2, pet)
		got, _, err := k.run("", "--context", eu2.context, "exec", pet, "--", "cat", "/data/born")
		if err != nil || strings.TrimSpace(got) != want {
			t.Errorf("%s in eu-2: /data/born is %q (%v), want %q, written in eu-1", pet, got, err, want)
		}
	}
	pods, err := client.For[*v1.Pod](eu1.c, "default").List(context.Background(), client.ListOptions{LabelSelector: "app=files"})
	if err != nil || len(pods.Items) != 0 {
		t.Fatalf("eu-1 still has %d pods of files (%v)", len(pods.Items), err)
	}
	deleteFederated(t, k, federatedFiles, members)
}

// readyPod waits for pod name to run Ready in member m.
func readyPod(t *testing.T, m *member, name string) *v1.Pod {
	t.Helper()
	var pod *v1.Pod
	testcluster.Eventually(t, 3*time.Minute, name+" Ready in "+m.name, func() bool {
		p, err := client.For[*v1.Pod](m.c, "default").Get(context.Background(), name)
		pod = p
		return err == nil && v1.IsPodReady(p) && p.DeletionTimestamp == nil
	})
	return pod
}
