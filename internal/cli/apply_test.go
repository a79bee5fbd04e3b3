package cli_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

const webManifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels: {app: web}
data:
  mode: primary
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 2
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: server
        command: ["sleep", "1000"]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
`

func TestApplyCreatedUnchangedConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "web.yaml", webManifest)

	wantLines(t, "first apply", e.mustRun("apply", "-f", path),
		"configmap/web-config created", "statefulset/web created", "service/web created")
	wantLines(t, "second apply", e.mustRun("apply", "-f", path),
		"configmap/web-config unchanged", "statefulset/web unchanged", "service/web unchanged")

	changed := strings.Replace(webManifest, "mode: primary", "mode: replica", 1)
	writeFile(t, dir, "web.yaml", changed)
	wantLines(t, "apply of a change", e.mustRun("apply", "-f", path),
		"configmap/web-config configured", "statefulset/web unchanged", "service/web unchanged")

	cm, err := client.For[*v1.ConfigMap](e.tc.Admin, "default").Get(e.ctx(), "web-config")
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["mode"] != "replica" {
		t.Errorf("data.mode = %q after apply, want replica", cm.Data["mode"])
	}
}

// TestApplyKeepsWhatTheClusterSet checks the merge: labels replaced,
// annotations merged with the manifest winning, finalizers and owner
// references kept when the manifest has none.
func TestApplyKeepsWhatTheClusterSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cms := client.For[*v1.ConfigMap](e.tc.Admin, "default")
	live := configMap("merged")
	live.Labels = map[string]string{"old": "label"}
	live.Annotations = map[string]string{"controller/note": "kept", "shared": "live"}
	live.Finalizers = []string{"example.com/hold"}
	if _, err := cms.Create(e.ctx(), live); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { releaseFinalizers(e, "merged") })
	manifest := `apiVersion: v1
kind: ConfigMap
metadata:
  name: merged
  labels: {new: label}
  annotations: {shared: manifest, extra: x}
data: {k: v2}
`
	wantLines(t, "apply", e.runIn(manifest, "apply", "-f", "-").out, "configmap/merged configured")
	got, err := cms.Get(e.ctx(), "merged")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.Labels, map[string]string{"new": "label"}) {
		t.Errorf("labels = %v, want the manifest's only", got.Labels)
	}
	wantAnn := map[string]string{"controller/note": "kept", "shared": "manifest", "extra": "x"}
	if !maps.Equal(got.Annotations, wantAnn) {
		t.Errorf("annotations = %v, want %v", got.Annotations, wantAnn)
	}
	if !slices.Equal(got.Finalizers, []string{"example.com/hold"}) {
		t.Errorf("finalizers = %v, want the live ones kept", got.Finalizers)
	}
	wantLines(t, "apply again", e.runIn(manifest, "apply", "-f", "-").out, "configmap/merged unchanged")
}

func releaseFinalizers(e *env, name string) {
	cms := client.For[*v1.ConfigMap](e.tc.Admin, "default")
	cm, err := cms.Get(e.ctx(), name)
	if err != nil {
		return
	}
	cm.Finalizers = nil
	_, _ = cms.Update(e.ctx(), cm)
}

func TestApplyBadDocumentAppliesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	path := writeFile(t, t.TempDir(), "pod.yaml", `apiVersion: v1
kind: ConfigMap
metadata: {name: first}
---
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers:
  - name: c
    command: ["sleep", "1"]
    foo: bar
`)
	stderr := e.mustFail("apply", "-f", path)
	wantContains(t, "stderr", stderr, "error: ", "pod.yaml: ", "document 2", "spec.containers[0].foo", "unknown field")
	if _, err := client.For[*v1.ConfigMap](e.tc.Admin, "default").Get(e.ctx(), "first"); !v1.IsNotFound(err) {
		t.Errorf("the good document was applied (get: %v); nothing should be", err)
	}
}

func TestApplyNamespaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	writeFile(t, dir, "a/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n")
	writeFile(t, dir, "a/b/cm.json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nested"}}`)
	writeFile(t, dir, "a/notes.txt", "not a manifest")

	// Without -R only the top directory is read; -n does not apply to the
	// cluster-scoped Namespace.
	wantLines(t, "apply dir", e.mustRun("apply", "-f", dir+"/a", "-n", "team"), "namespace/team created")
	wantLines(t, "apply -R", e.mustRun("apply", "-R", "-f", dir+"/a", "-n", "team"),
		"configmap/nested created", "namespace/team unchanged")
	if _, err := client.For[*v1.ConfigMap](e.tc.Admin, "team").Get(e.ctx(), "nested"); err != nil {
		t.Errorf("configmap not created in -n team: %v", err)
	}

	// The manifest's own namespace wins over -n.
	own := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: own, namespace: team}\n"
	wantLines(t, "apply with namespace", e.runIn(own, "apply", "-f", "-", "-n", "default").out, "configmap/own created")
	if _, err := client.For[*v1.ConfigMap](e.tc.Admin, "team").Get(e.ctx(), "own"); err != nil {
		t.Errorf("configmap not created in its own namespace: %v", err)
	}
}

func TestApplyInvalidObjectPrintsServerMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := "apiVersion: v1\nkind: Pod\nmetadata: {name: nocontainers}\nspec: {containers: []}\n"
	r := e.runIn(bad, "apply", "-f", "-")
	if r.code == 0 {
		t.Fatalf("apply of an invalid pod succeeded: %s", r.out)
	}
	wantContains(t, "stderr", r.err, "error: pod/nocontainers: ", "spec.containers")
}
