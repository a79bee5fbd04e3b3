package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"github.com/kennel-dev/kennel/internal/volume/mount"
)

// petCluster runs `kennel up` with one node whose pods resolve cluster
// names through Kennel's DNS (their resolv.conf names dnsIP, where the
// DNS serves on port 53), and a local storage pool for pets' claims.
func petCluster(t *testing.T, k *kennel, dnsIP string) *client.Client {
	t.Cleanup(func() {
		mps, _ := mount.MountsUnder(k.home)
		for _, mp := range mps {
			mount.Unmount(mp)
		}
	})
	k.startDaemon("Kennel is up", "up", "--data-dir", filepath.Join(k.home, "data"), "--listen", "127.0.0.1:0",
		"--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", dnsIP, "--log-level", "warn",
		"--node-storage", "iops=20000,bandwidth=1Gi,capacity=4Gi")
	c := k.client()
	// Runs before the daemon is killed: pods outlive `kennel up` by
	// design, but not the test (the next test's pods get the same
	// addresses).
	t.Cleanup(func() {
		ctx := context.Background()
		if sets, err := client.For[*v1.PetSet](c, "default").List(ctx, client.ListOptions{}); err == nil {
			for _, s := range sets.Items {
				client.For[*v1.PetSet](c, "default").Delete(ctx, s.Name, client.DeleteOptions{})
			}
		}
		testcluster.Eventually(t, time.Minute, "every pod stopped", func() bool {
			pods, err := client.For[*v1.Pod](c, "default").List(ctx, client.ListOptions{})
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil {
					client.For[*v1.Pod](c, "default").Delete(ctx, p.Name, client.DeleteOptions{})
				}
			}
			return err == nil && len(pods.Items) == 0
		})
	})
	testcluster.Eventually(t, 30*time.Second, "node-1 Ready", func() bool {
		n, err := client.For[*v1.Node](c, "").Get(context.Background(), "node-1")
		return err == nil && nodeIsReady(n)
	})
	return c
}

// waitPets waits until the set's pods 0..n-1 are all Running and Ready
// and returns them by name.
func waitPets(t *testing.T, c *client.Client, set string, n int, timeout time.Duration) map[string]*v1.Pod {
	t.Helper()
	pets := map[string]*v1.Pod{}
	waiting := ""
	ok := testcluster.Within(timeout, func() bool {
		for i := range n {
			waiting = fmt.Sprintf("%s-%d", set, i)
			p := getPod(t, c, waiting)
			if p == nil || !v1.IsPodReady(p) || p.Status.PodIP == "" {
				return false
			}
			pets[p.Name] = p
		}
		return true
	})
	if !ok {
		t.Fatalf("timed out after %v waiting for %d pets of %s Ready\n%s", timeout, n, set, podReport(c, waiting))
	}
	return pets
}

// TestPetSetMembersFindEachOtherBySRV: three pets of the test workload
// resolve their service's SRV record through the resolver their
// resolv.conf names (Kennel's DNS) and each finds all three, by their
// stable names.
func TestPetSetMembersFindEachOtherBySRV(t *testing.T) {
	requireRoot(t, "pods' resolv.conf points at Kennel DNS only as root")
	k := build(t)
	wl := filepath.Join(filepath.Dir(k.bin), "workload")
	if out, err := exec.Command("go", "build", "-o", wl, "../workload").CombinedOutput(); err != nil {
		t.Fatalf("build workload: %v\n%s", err, out)
	}
	c := petCluster(t, k, "127.0.9.1")
	k.mustRun(fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: peers}
spec:
  clusterIP: None
  selector: {app: peers}
  ports: [{name: peer, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: peers}
spec:
  serviceName: peers
  replicas: 3
  selector: {matchLabels: {app: peers}}
  template:
    metadata: {labels: {app: peers}}
    spec:
      containers:
      - name: main
        command: [%q, "--listen", "$(POD_IP):8080", "--peers-srv", "_peer._tcp.peers.default.svc.cluster.local"]
        ports: [{name: peer, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}
`, wl), "apply", "-f", "-")
	waitPets(t, c, "peers", 3, 2*time.Minute)
	want := "peers: peers-0.peers.default.svc.cluster.local:8080,peers-1.peers.default.svc.cluster.local:8080,peers-2.peers.default.svc.cluster.local:8080"
	for i := range 3 {
		name := fmt.Sprintf("peers-%d", i)
		testcluster.Eventually(t, 30*time.Second, name+" finds all three peers by SRV", func() bool {
			out, _, err := k.run("", "logs", name)
			return err == nil && strings.Contains(out, want)
		})
	}
}

// TestEtcdClusterAsPetSet bootstraps a three-member etcd cluster (the
// Debian etcd-server package) as a PetSet through Kennel's DNS with
// --discovery-srv; every member is healthy; a key written before pet
// etcd-1 is deleted is read from it after it comes back with the same
// name and data.
//
// The peers speak TLS (--peer-auto-tls) and are found through
// _etcd-server-ssl._tcp SRV records: etcd 3.4, which Debian ships, keeps
// the plain _etcd-server records' answer only when their lookup fails (a
// bug fixed in 3.5), so its SRV discovery works only with the TLS name.
func TestEtcdClusterAsPetSet(t *testing.T) {
	requireRoot(t, "pods' resolv.conf points at Kennel DNS only as root")
	etcd := requireBinary(t, "etcd", "etcd-server")
	etcdctl := requireBinary(t, "etcdctl", "etcd-client")
	k := build(t)
	c := petCluster(t, k, "127.0.9.2")
	k.mustRun(fmt.Sprintf(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: kennel.io/local
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: Service
metadata: {name: etcd}
spec:
  clusterIP: None
  publishNotReadyAddresses: true   # members must find each other before they are a cluster
  selector: {app: etcd}
  ports:
  - {name: etcd-server-ssl, port: 2380}
  - {name: etcd-client, port: 2379}
---
apiVersion: kennel.io/v1
kind: PetSet
metadata: {name: etcd}
spec:
  serviceName: etcd
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: etcd}}
  template:
    metadata: {labels: {app: etcd}}
    spec:
      containers:
      - name: etcd
        # Each member starts etcd once every member's name resolves, so
        # all three bootstrap from the same SRV answer (one that saw only
        # some of them would form a cluster of its own).
        command:
        - sh
        - -c
        - |
          for h in etcd-0 etcd-1 etcd-2; do
            until getent hosts $h.etcd.default.svc.cluster.local >/dev/null; do sleep 0.2; done
          done
          exec "$@"
        - etcd
        - %q
        - --name=$(POD_NAME)
        - --data-dir=/var/lib/etcd/data
        - --discovery-srv=etcd.default.svc.cluster.local
        - --initial-advertise-peer-urls=https://$(POD_NAME).etcd.default.svc.cluster.local:2380
        - --listen-peer-urls=https://$(POD_IP):2380
        - --peer-auto-tls
        - --listen-client-urls=http://$(POD_IP):2379
        - --advertise-client-urls=http://$(POD_NAME).etcd.default.svc.cluster.local:2379
        - --initial-cluster-token=kennel-e2e
        - --initial-cluster-state=new
        ports:
        - {name: etcd-server-ssl, containerPort: 2380}
        - {name: etcd-client, containerPort: 2379}
        volumeMounts: [{name: data, mountPath: /var/lib/etcd}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      storageClassName: local
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 256Mi}}
`, etcd), "apply", "-f", "-")
	pets := waitPets(t, c, "etcd", 3, 2*time.Minute)
	endpoints := func() string {
		var eps []string
		for i := range 3 {
			eps = append(eps, "http://"+pets[fmt.Sprintf("etcd-%d", i)].Status.PodIP+":2379")
		}
		return strings.Join(eps, ",")
	}
	ctl := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, etcdctl, append([]string{"--endpoints", endpoints(), "--command-timeout=3s"}, args...)...).CombinedOutput()
		return string(out), err
	}
	var health string
	defer func() {
		if t.Failed() {
			t.Logf("last etcdctl endpoint health:\n%s", health)
			for i := range 3 {
				out, _, _ := k.run("", "logs", fmt.Sprintf("etcd-%d", i), "--tail", "5")
				t.Logf("etcd-%d:\n%s", i, out)
			}
		}
	}()
	testcluster.Eventually(t, 90*time.Second, "etcdctl endpoint health: all three healthy", func() bool {
		out, err := ctl("endpoint", "health")
		health = out
		return err == nil && strings.Count(out, "is healthy") == 3
	})
	t.Logf("endpoint health:\n%s", health)
	if out, err := ctl("put", "pet-key", "kept"); err != nil {
		t.Fatalf("etcdctl put: %v\n%s", err, out)
	}

	// Delete pet etcd-1: it comes back with the same name and claim, and
	// its own copy of the data answers.
	k.mustRun("", "delete", "pod", "etcd-1")
	oldUID := pets["etcd-1"].UID
	testcluster.Eventually(t, 2*time.Minute, "etcd-1 back, Ready, as a new pod", func() bool {
		p := getPod(t, c, "etcd-1")
		if p != nil && p.UID != oldUID && v1.IsPodReady(p) && p.Status.PodIP != "" {
			pets["etcd-1"] = p
			return true
		}
		return false
	})
	testcluster.Eventually(t, 90*time.Second, "the key read from etcd-1 alone", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, etcdctl, "--endpoints", "http://"+pets["etcd-1"].Status.PodIP+":2379",
			"--command-timeout=3s", "get", "pet-key", "--print-value-only", "--consistency=s").CombinedOutput()
		return err == nil && strings.TrimSpace(string(out)) == "kept"
	})
	if out, err := ctl("endpoint", "health"); err != nil || strings.Count(out, "is healthy") != 3 {
		t.Fatalf("after etcd-1 came back: %v\n%s", err, out)
	}
}

// TestRedisReplicationAsPetSet: pet 0 is the Redis primary, pets 1 and 2
// replicate from redis-0.redis.default.svc.cluster.local (resolved by
// Redis through Kennel's DNS); a key written to the primary is read from
// both replicas.
func TestRedisReplicationAsPetSet(t *testing.T) {
	requireRoot(t, "pods' resolv.conf points at Kennel DNS only as root")
	redis := requireBinary(t, "redis-server", "redis-server")
	cli := requireBinary(t, "redis-cli", "redis-server")
	k := build(t)
	c := petCluster(t, k, "127.0.9.3")
	k.mustRun(fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: redis}
spec:
  clusterIP: None
  selector: {app: redis}
  ports: [{name: redis, port: 6379}]
---
apiVersion: kennel.io/v1
kind: PetSet
metadata: {name: redis}
spec:
  serviceName: redis
  replicas: 3
  selector: {matchLabels: {app: redis}}
  template:
    metadata: {labels: {app: redis}}
    spec:
      containers:
      - name: redis
        command:
        - sh
        - -c
        - |
          if [ "$POD_NAME" = redis-0 ]; then
            exec %[1]s --bind "$POD_IP" --port 6379 --dir /data --save '' --appendonly no --protected-mode no
          fi
          exec %[1]s --bind "$POD_IP" --port 6379 --dir /data --save '' --appendonly no --protected-mode no \
            --replicaof redis-0.redis.default.svc.cluster.local 6379
        ports: [{name: redis, containerPort: 6379}]
        readinessProbe: {tcpSocket: {port: 6379}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, emptyDir: {}}]
`, redis), "apply", "-f", "-")
	pets := waitPets(t, c, "redis", 3, 2*time.Minute)
	run := func(pod string, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, cli, append([]string{"-h", pets[pod].Status.PodIP, "-p", "6379"}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	if out := run("redis-0", "SET", "pet-key", "from-primary"); out != "OK" {
		t.Fatalf("SET on redis-0: %q", out)
	}
	for _, replica := range []string{"redis-1", "redis-2"} {
		testcluster.Eventually(t, 60*time.Second, replica+" replicates the key from redis-0", func() bool {
			return run(replica, "GET", "pet-key") == "from-primary"
		})
		if role := run(replica, "ROLE"); !strings.HasPrefix(role, "slave") {
			t.Fatalf("%s has role %q, want a replica", replica, role)
		}
	}
}
