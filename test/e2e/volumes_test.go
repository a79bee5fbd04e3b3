package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/kennel-dev/kennel/internal/testenv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"github.com/kennel-dev/kennel/internal/volume/mount"
)

// requireRoot needs root for what the test does.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	testenv.RequireRoot(t, why)
}

// volumeCluster runs a control plane and one agent whose storage device
// is a directory of the test's temp dir, and returns an admin client.
func volumeCluster(t *testing.T, k *kennel) *client.Client {
	// Runs after the daemons are killed: the node-wide mounts of loop
	// volumes outlive the agent by design, not the test.
	t.Cleanup(func() {
		mps, _ := mount.MountsUnder(k.home)
		for _, mp := range mps {
			mount.Unmount(mp)
		}
	})
	pool := filepath.Join(k.home, "pool")
	if err := os.MkdirAll(pool, 0o700); err != nil {
		t.Fatal(err)
	}
	k.startDaemon("Kennel is up", "server", "--data-dir", filepath.Join(k.home, "data"), "--listen", "127.0.0.1:0", "--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", "",
		"--write-config", "--log-level", "warn")
	c := k.client()
	tok := strings.TrimSpace(k.mustRun("", "token", "create", "--role", "node", "--description", "vol-n1"))
	k.startDaemon("Kennel agent for node", "agent", "--name", "vol-n1", "--token", tok, "--pod-cidr", "127.71.0.0/16",
		"--data-dir", filepath.Join(k.home, "agent-vol-n1"), "--log-level", "warn",
		"--storage", pool+":iops=20000,bandwidth=2Gi,capacity=4Gi")
	testcluster.Eventually(t, 30*time.Second, "node vol-n1 Ready with its storage", func() bool {
		n, err := client.For[*v1.Node](c, "").Get(context.Background(), "vol-n1")
		return err == nil && nodeIsReady(n) && len(n.Status.Storage) == 1
	})
	return c
}

// waitSucceeded waits for the pods to finish and returns their logs.
func waitSucceeded(t *testing.T, c *client.Client, timeout time.Duration, names ...string) map[string]string {
	t.Helper()
	logs := map[string]string{}
	for _, name := range names {
		ok := testcluster.Within(timeout, func() bool {
			p := getPod(t, c, name)
			if p != nil && p.Status.Phase == v1.PodFailed {
				t.Fatalf("pod %s failed: %+v\nlogs: %s", name, p.Status, podLog(t, c, name))
			}
			return p != nil && p.Status.Phase == v1.PodSucceeded
		})
		if !ok {
			t.Fatalf("timed out after %v waiting for pod %s Succeeded\n%s", timeout, name, podReport(c, name))
		}
		logs[name] = podLog(t, c, name)
	}
	return logs
}

// podReport says where a pod is stuck: its node and status, and the
// events about it and every warning, for a test's failure message.
func podReport(c *client.Client, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	if p, err := client.For[*v1.Pod](c, "default").Get(ctx, name); err != nil {
		fmt.Fprintf(&b, "pod %s: %v\n", name, err)
	} else {
		fmt.Fprintf(&b, "pod %s on node %q: %+v\n", name, p.Spec.NodeName, p.Status)
	}
	evs, err := client.For[*v1.Event](c, "default").List(ctx, client.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "events: %v\n", err)
		return b.String()
	}
	for _, e := range evs.Items {
		if e.InvolvedObject.Name == name || e.Type == v1.EventTypeWarning {
			fmt.Fprintf(&b, "event %s %s %s/%s: %s (x%d)\n", e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message, e.Count)
		}
	}
	return b.String()
}

func podLog(t *testing.T, c *client.Client, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := c.PodLogs(ctx, "default", name, client.LogOptions{})
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

// fioResult is the part of fio's JSON output the tests read.
type fioResult struct {
	Jobs []struct {
		Read  struct{ IOPS, BWBytes float64 } `json:"read"`
		Write struct{ IOPS, BWBytes float64 } `json:"write"`
	} `json:"jobs"`
}

func (r *fioResult) UnmarshalJSON(b []byte) error {
	var raw struct {
		Jobs []struct {
			Read  map[string]any `json:"read"`
			Write map[string]any `json:"write"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	r.Jobs = make([]struct {
		Read  struct{ IOPS, BWBytes float64 } `json:"read"`
		Write struct{ IOPS, BWBytes float64 } `json:"write"`
	}, len(raw.Jobs))
	for i, j := range raw.Jobs {
		r.Jobs[i].Read.IOPS, _ = j.Read["iops"].(float64)
		r.Jobs[i].Read.BWBytes, _ = j.Read["bw_bytes"].(float64)
		r.Jobs[i].Write.IOPS, _ = j.Write["iops"].(float64)
		r.Jobs[i].Write.BWBytes, _ = j.Write["bw_bytes"].(float64)
	}
	return nil
}

func parseFio(t *testing.T, name, log string) fioResult {
	t.Helper()
	start := strings.Index(log, "{")
	var r fioResult
	if start < 0 || json.Unmarshal([]byte(log[start:]), &r) != nil || len(r.Jobs) != 1 {
		t.Fatalf("pod %s: no fio JSON in its log:\n%s", name, log)
	}
	return r
}

const qosClasses = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: write-200}
provisioner: kennel.io/local
volumeBindingMode: WaitForFirstConsumer
parameters: {fsType: ext4, writeIOPS: "200"}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: write-400}
provisioner: kennel.io/local
volumeBindingMode: WaitForFirstConsumer
parameters: {fsType: ext4, writeIOPS: "400"}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: read-10mi}
provisioner: kennel.io/local
volumeBindingMode: WaitForFirstConsumer
parameters: {fsType: ext4, readBandwidth: 10Mi}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: unlimited}
provisioner: kennel.io/local
volumeBindingMode: WaitForFirstConsumer
parameters: {fsType: ext4}
`

// claimAndPod is a claim of class and a pod that runs argv with the
// claim mounted at /data.
func claimAndPod(name, class string, argv ...string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf(`---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: %[1]s}
spec:
  storageClassName: %[2]s
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 256Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: %[1]s}
spec:
  restartPolicy: Never
  containers:
  - name: main
    command: [%[3]s]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: %[1]s}
`, name, class, strings.Join(q, ", "))
}

// TestVolumeQoSMeasuredWithFio runs fio in pods on volumes of four
// classes at once, on one device: each limited volume measures its own
// limit within 10%, and the unlimited one runs well above the limits.
func TestVolumeQoSMeasuredWithFio(t *testing.T) {
	requireRoot(t, "loop devices, mounts and blkio limits")
	fio := requireBinary(t, "fio", "fio")
	k := build(t)
	c := volumeCluster(t, k)
	randwrite := func(name string) []string {
		return []string{fio, "--name=" + name, "--directory=/data", "--size=64M", "--direct=1", "--rw=randwrite",
			"--bs=4k", "--ioengine=psync", "--runtime=6", "--time_based", "--output-format=json"}
	}
	seqread := []string{fio, "--name=read", "--directory=/data", "--size=128M", "--direct=1", "--rw=read",
		"--bs=1M", "--ioengine=psync", "--runtime=6", "--time_based", "--output-format=json"}
	k.mustRun(qosClasses+claimAndPod("pet-a", "write-200", randwrite("a")...)+claimAndPod("pet-b", "write-400", randwrite("b")...)+
		claimAndPod("reader", "read-10mi", seqread...)+claimAndPod("free", "unlimited", randwrite("free")...), "apply", "-f", "-")
	logs := waitSucceeded(t, c, 3*time.Minute, "pet-a", "pet-b", "reader", "free")

	within := func(name string, got, want float64) {
		t.Logf("%s: measured %.0f, limit %.0f", name, got, want)
		if got < want*0.9 || got > want*1.1 {
			t.Errorf("%s: measured %.0f, want %.0f ± 10%%", name, got, want)
		}
	}
	within("pet-a write IOPS", parseFio(t, "pet-a", logs["pet-a"]).Jobs[0].Write.IOPS, 200)
	within("pet-b write IOPS", parseFio(t, "pet-b", logs["pet-b"]).Jobs[0].Write.IOPS, 400)
	within("reader read bandwidth", parseFio(t, "reader", logs["reader"]).Jobs[0].Read.BWBytes, 10<<20)
	free := parseFio(t, "free", logs["free"]).Jobs[0].Write.IOPS
	t.Logf("free (unlimited) write IOPS: %.0f", free)
	if free < 3*400 {
		t.Errorf("the unlimited volume on the same device ran %.0f write IOPS, want well above the limits (> 1200)", free)
	}

	// The node reports what the four volumes reserve of its device.
	n, err := client.For[*v1.Node](c, "").Get(context.Background(), "vol-n1")
	if err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 90*time.Second, "node status shows the reservations", func() bool {
		n, err = client.For[*v1.Node](c, "").Get(context.Background(), "vol-n1")
		r := n.Status.Storage[0].Reserved
		return err == nil && r != nil && r.Volumes == 4 && r.IOPS.Value() == 600
	})
}

// TestVolumeDataSurvivesThePod writes a file through one pod, deletes the
// pod, and reads the same bytes through a new pod on the same claim: for
// a directory volume and for a loop-device filesystem.
func TestVolumeDataSurvivesThePod(t *testing.T) {
	requireRoot(t, "mount namespaces and loop devices")
	k := build(t)
	c := volumeCluster(t, k)
	k.mustRun(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: dir}
provisioner: kennel.io/local
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ext4}
provisioner: kennel.io/local
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
parameters: {fsType: ext4}
`, "apply", "-f", "-")
	for _, class := range []string{"dir", "ext4"} {
		t.Run(class, func(t *testing.T) {
			w := "w-" + class
			k.mustRun(claimAndPod(w, class, "sh", "-c", "head -c 1048576 /dev/urandom > /data/blob && sha256sum /data/blob"), "apply", "-f", "-")
			wrote := waitSucceeded(t, c, time.Minute, w)[w]
			k.mustRun("", "delete", "pod", w)
			testcluster.Eventually(t, 30*time.Second, "pod "+w+" gone", func() bool { return getPod(t, c, w) == nil })
			r := "r-" + class
			k.mustRun(strings.Replace(claimAndPod(r, class, "sha256sum", "/data/blob"), "claimName: "+r, "claimName: "+w, 1), "apply", "-f", "-")
			read := waitSucceeded(t, c, time.Minute, r)[r]
			if sum := strings.Fields(wrote); len(sum) == 0 || !strings.HasPrefix(read, sum[0]) {
				t.Fatalf("read %q, wrote %q", read, wrote)
			}
		})
	}
}
