package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"github.com/kennel-dev/kennel/internal/volume/local"
	"github.com/kennel-dev/kennel/internal/volume/transfer"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestVolumeMigrationBetweenAgents: two agents of one cluster stand for
// the source and the target member. A stopped pet's local claim on
// node-1 is exported; a claim on node-2 marked to be restored from that
// export gets the same files before its pod's container starts, with
// the restore in the pod's status and events, and once only (the pod
// started again copies nothing). While a pod on node-1 uses the source
// claim the export refuses, and the restore waits; a wrong token gets
// nothing; logs still need the API server's certificate.
func TestVolumeMigrationBetweenAgents(t *testing.T) {
	requireRoot(t)
	a := startVolumeEnv(t, nil)
	b := startSecondAgent(t, a, "node-2", "127.78.0.0/16")

	srcDir := t.TempDir()
	bigSum := writeMigrationTree(t, srcDir)
	const token = "migration-token"
	a.claimOn("node-1", "src-data", v1.LocalVolumeSource{Path: srcDir}, map[string]string{v1.AnnotationExportTokenSHA256: transfer.TokenSHA256(token)})
	src := transfer.Source{ID: "mig-1", URL: fmt.Sprintf("https://127.0.0.1:%d/volumes/default/src-data", a.agent.srv.port()),
		CertSHA256: a.agent.srv.fingerprint, Token: token}

	// The pet still runs on node-1: no export.
	mnt := t.TempDir()
	a.create(volumePod("pet-0", mnt, "echo started && exec sleep 3600", claimVolume("data", "src-data")))
	a.waitPod("pet-0", 60*time.Second, "Running", running)
	expectRefusal(t, src, http.StatusConflict, "in use by pod pet-0")
	wrong := src
	wrong.Token = "guess"
	expectRefusal(t, wrong, http.StatusUnauthorized, "bearer token")
	checkAPIServerOnly(t, a, "pet-0")

	// node-2 fills its claim from the export before the pod's container
	// starts; the container checks the big file's checksum, and with
	// restartPolicy Never a start before the copy would fail for good.
	// While the pet still runs on node-1 the restore fails, says why,
	// and is tried again.
	dstDir := t.TempDir()
	rs, _ := json.Marshal(v1.RestoreSource{ID: src.ID, URL: src.URL, CertSHA256: src.CertSHA256, Token: token})
	b.claimOn("node-2", "dst-data", v1.LocalVolumeSource{Path: dstDir}, map[string]string{v1.AnnotationRestoreFrom: string(rs)})
	pod := volumePod("pet-0-moved", mnt, fmt.Sprintf("sha256sum %s/data/a/big.bin | grep -q %s || exit 3; exec sleep 3600", mnt, bigSum),
		claimVolume("data", "dst-data"))
	pod.Spec.NodeName, pod.Spec.RestartPolicy = "node-2", v1.RestartPolicyNever
	b.create(pod)
	b.waitEvent("pet-0-moved", "RestoreFailed", "in use by pod pet-0")
	b.waitPod("pet-0-moved", 10*time.Second, "the failure in its status", func(p *v1.Pod) bool {
		return len(p.Status.VolumeRestores) == 1 && strings.Contains(p.Status.VolumeRestores[0].Message, "in use by pod pet-0")
	})
	if p := b.get("pet-0-moved"); running(p) || p.Status.VolumeRestores[0].Done {
		t.Fatalf("the pod started before its volume was restored: %+v", p.Status)
	}
	a.deletePod("pet-0", 1)
	expectRefusal(t, wrong, http.StatusUnauthorized, "bearer token")
	p := b.waitPod("pet-0-moved", 30*time.Second, "Running after its restore", func(p *v1.Pod) bool {
		return running(p) && len(p.Status.VolumeRestores) == 1 && p.Status.VolumeRestores[0].Done
	})
	r := p.Status.VolumeRestores[0]
	if r.Claim != "dst-data" || r.ID != "mig-1" || r.BytesDone != r.BytesTotal || r.BytesTotal < 3<<20 || r.Files != r.FilesTotal || r.Message != "" {
		t.Fatalf("restore status %+v", r)
	}
	if cs := p.Status.ContainerStatuses[0]; cs.RestartCount != 0 {
		t.Fatalf("the container started before its volume was restored: %+v", cs)
	}
	sameFiles(t, srcDir, dstDir)
	b.waitEvent("pet-0-moved", "Restoring", "src-data")
	b.waitEvent("pet-0-moved", "Restored", "src-data")

	b.restartedKeepsRestore(pod, mnt, dstDir)
}

// restartedKeepsRestore: what the pet writes stays: the pod started
// again (a new worker) does not restore again, and its status says the
// restore is done.
func (e *env) restartedKeepsRestore(pod *v1.Pod, mnt, dstDir string) {
	e.t.Helper()
	t := e.t
	if err := os.WriteFile(filepath.Join(dstDir, "written-after"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.deletePod("pet-0-moved", 1)
	again := shContainer("main", "cat "+mnt+"/data/written-after && exec sleep 3600")
	again.VolumeMounts = pod.Spec.Containers[0].VolumeMounts
	pod.Spec.Containers[0] = again
	e.create(pod)
	e.waitPod("pet-0-moved", 30*time.Second, "Running again", func(p *v1.Pod) bool {
		return running(p) && len(p.Status.VolumeRestores) == 1 && p.Status.VolumeRestores[0].Done
	})
	if got, err := os.ReadFile(filepath.Join(dstDir, "written-after")); err != nil || string(got) != "mine\n" {
		t.Fatalf("the volume was restored again: %q %v", got, err)
	}
}

// TestVolumeExportLoopImage: a loop-backed local volume no pod uses is
// mounted for its export, served, and unmounted once the export is idle.
func TestVolumeExportLoopImage(t *testing.T) {
	requireRoot(t)
	e := startVolumeEnv(t, nil)
	e.agent.srv.exports.setIdle(50 * time.Millisecond)
	ctx := context.Background()
	img, err := local.Provision(ctx, filepath.Join(e.dataDir, "pool"), "img", 64<<20, "ext4")
	if err != nil {
		t.Fatal(err)
	}
	fill := filepath.Join(e.dataDir, "fill")
	if _, err := local.MountImage(ctx, img, "ext4", fill, false); err != nil {
		t.Fatal(err)
	}
	writeMigrationTree(t, fill)
	if err := errors.Join(os.Remove(filepath.Join(fill, "lost+found")), local.UnmountImage(ctx, img, fill)); err != nil {
		t.Fatal(err)
	}
	const token = "image-token"
	ext4 := "ext4"
	e.claimOn("node-1", "img-data", v1.LocalVolumeSource{Path: img, FSType: &ext4}, map[string]string{v1.AnnotationExportTokenSHA256: transfer.TokenSHA256(token)})
	src := transfer.Source{ID: "mig-img", URL: fmt.Sprintf("https://127.0.0.1:%d/volumes/default/img-data", e.agent.srv.port()),
		CertSHA256: e.agent.srv.fingerprint, Token: token}
	testcluster.Eventually(t, 10*time.Second, "the agent lists its pods", e.agent.pods.HasSynced)
	dst := t.TempDir()
	if p, err := transfer.Restore(ctx, src, dst, filepath.Join(t.TempDir(), "state"), nil); err != nil || !p.Done {
		t.Fatalf("restore: %+v %v", p, err)
	}
	testcluster.Eventually(t, 10*time.Second, "the export's mount gone", func() bool {
		return len(mountsAt(t, e.agent.localMountDir("pv-img-data"))) == 0 && len(loopsUnder(t, img)) == 0
	})
	if _, err := local.MountImage(ctx, img, "ext4", fill, true); err != nil {
		t.Fatal(err)
	}
	defer local.UnmountImage(ctx, img, fill)
	sameFiles(t, fill, dst)
}

// startSecondAgent starts another agent, on node, in first's cluster.
func startSecondAgent(t *testing.T, first *env, node, cidr string) *env {
	t.Helper()
	e := &env{t: t, tc: first.tc, dataDir: t.TempDir()}
	e.cfg = first.cfg
	e.cfg.NodeName, e.cfg.PodCIDR, e.cfg.DataDir = node, cidr, e.dataDir
	e.cfg.Client = first.tc.Client(first.tc.Token(apiserver.RoleNode, ""))
	e.cleanupPods()
	e.startAgent()
	return e
}

// writeMigrationTree writes nested directories, modes, an empty file, a
// symlink and 3 MiB of random bytes into dir, and returns the big file's
// SHA-256.
func writeMigrationTree(t *testing.T, dir string) string {
	t.Helper()
	big := make([]byte, 3<<20)
	_, _ = rand.Read(big)
	err := errors.Join(
		os.MkdirAll(filepath.Join(dir, "a", "b"), 0o750),
		os.WriteFile(filepath.Join(dir, "a", "big.bin"), big, 0o600),
		os.WriteFile(filepath.Join(dir, "a", "b", "small.txt"), []byte("small\n"), 0o640),
		os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644),
		os.Symlink("a/b/small.txt", filepath.Join(dir, "link")),
	)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(big)
	return hex.EncodeToString(sum[:])
}

// sameFiles compares two trees: the type, mode and content of each
// entry, and the target of each symlink.
func sameFiles(t *testing.T, want, got string) {
	t.Helper()
	describe := func(root string) map[string]string {
		out := map[string]string{}
		err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			d := info.Mode().String()
			if info.Mode().IsRegular() {
				b, _ := os.ReadFile(p)
				d += fmt.Sprintf(" %x", sha256.Sum256(b))
			}
			if target, err := os.Readlink(p); err == nil {
				d += " -> " + target
			}
			out[rel] = d
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	w, g := describe(want), describe(got)
	delete(w, ".")
	delete(g, ".")
	if len(w) != len(g) {
		t.Errorf("%d entries, want %d: %v", len(g), len(w), g)
	}
	for p, d := range w {
		if g[p] != d {
			t.Errorf("%s: %q, want %q", p, g[p], d)
		}
	}
}

// expectRefusal pulls from src and wants the export to refuse with code
// and a message holding msg, writing nothing.
func expectRefusal(t *testing.T, src transfer.Source, code int, msg string) {
	t.Helper()
	dst := t.TempDir()
	_, err := transfer.Restore(context.Background(), src, dst, filepath.Join(t.TempDir(), "state"), nil)
	var se *transfer.StatusError
	if !errors.As(err, &se) || se.Code != code || !strings.Contains(se.Message, msg) {
		t.Fatalf("export: %v, want %d saying %q", err, code, msg)
	}
	if entries, _ := os.ReadDir(dst); len(entries) > 0 {
		t.Fatalf("a refused restore wrote %v", entries)
	}
}

// checkAPIServerOnly: the agent serves logs to the API server (its
// proxy), and refuses a caller without the proxy's certificate.
func checkAPIServerOnly(t *testing.T, e *env, pod string) {
	t.Helper()
	testcluster.Eventually(t, 10*time.Second, "the pod's log through the API server", func() bool {
		rc, err := e.tc.Admin.PodLogs(context.Background(), "default", pod, client.LogOptions{Container: "main"})
		if err != nil {
			return false
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return strings.Contains(string(b), "started")
	})
	url := fmt.Sprintf("https://127.0.0.1:%d/containerLogs/default/%s/main", e.agent.srv.port(), pod)
	for name, certs := range map[string][]tls.Certificate{
		"no certificate":      nil,
		"another certificate": {e.tc.IssueClientCert("someone-else")},
	} {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: certs}}}
		resp, err := hc.Get(url)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("%s: logs answered %d, want 403", name, resp.StatusCode)
		}
	}
}

// claimOn creates a claim with annotations bound to a new local volume
// vol on node.
func (e *env) claimOn(node, name string, vol v1.LocalVolumeSource, annotations map[string]string) {
	e.t.Helper()
	ctx := context.Background()
	claims := client.For[*v1.PersistentVolumeClaim](e.tc.Admin, "default")
	c, err := claims.Create(ctx, &v1.PersistentVolumeClaim{
		ObjectMeta: v1.ObjectMeta{Name: name, Namespace: "default", Annotations: annotations},
		Spec: v1.PersistentVolumeClaimSpec{AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}, VolumeName: "pv-" + name,
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}}}})
	if err != nil {
		e.t.Fatal(err)
	}
	pvs := client.For[*v1.PersistentVolume](e.tc.Admin, "")
	pv, err := pvs.Create(ctx, &v1.PersistentVolume{ObjectMeta: v1.ObjectMeta{Name: "pv-" + name},
		Spec: v1.PersistentVolumeSpec{Capacity: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			PersistentVolumeSource: v1.PersistentVolumeSource{Local: &vol},
			AccessModes:            c.Spec.AccessModes, PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			ClaimRef: &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: "default", Name: name, UID: string(c.UID)},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{node}}}}}}}}})
	if err != nil {
		e.t.Fatal(err)
	}
	pv.Status.Phase = v1.VolumeBound
	if _, err := pvs.UpdateStatus(ctx, pv); err != nil {
		e.t.Fatal(err)
	}
	c.Status = v1.PersistentVolumeClaimStatus{Phase: v1.ClaimBound, AccessModes: pv.Spec.AccessModes, Capacity: pv.Spec.Capacity}
	if _, err := claims.UpdateStatus(ctx, c); err != nil {
		e.t.Fatal(err)
	}
}

// waitEvent waits for an event of reason about the pod whose message
// holds msg.
func (e *env) waitEvent(pod, reason, msg string) {
	e.t.Helper()
	testcluster.Eventually(e.t, 10*time.Second, fmt.Sprintf("a %s event on pod %s", reason, pod), func() bool {
		evs, err := client.For[*v1.Event](e.tc.Admin, "default").List(context.Background(), client.ListOptions{})
		return err == nil && slices.ContainsFunc(evs.Items, func(ev *v1.Event) bool {
			return ev.InvolvedObject.Name == pod && ev.Reason == reason && strings.Contains(ev.Message, msg)
		})
	})
}
