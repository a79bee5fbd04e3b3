package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

const getFixtures = `apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, labels: {app: db}}
spec:
  containers: [{name: c, command: ["sleep", "1"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, labels: {app: db}}
spec:
  containers: [{name: c, command: ["sleep", "1"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: cache-0, labels: {app: cache}, namespace: other}
spec:
  containers: [{name: c, command: ["sleep", "1"]}]
`

func TestGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.runIn(getFixtures, "apply", "-f", "-")

	t.Run("table", func(t *testing.T) {
		out := e.mustRun("get", "pods")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "NAME READY STATUS RESTARTS AGE" {
			t.Fatalf("get pods:\n%s", out)
		}
		wantContains(t, "get pods", out, "db-0", "db-1", "0/1", "Pending")
		if strings.Contains(out, "cache-0") {
			t.Errorf("get pods shows another namespace's pod:\n%s", out)
		}
	})
	t.Run("short names and kind/name", func(t *testing.T) {
		for _, args := range [][]string{{"po", "db-0"}, {"Pod", "db-0"}, {"pod/db-0"}, {"pods", "db-0", "-o", "name"}} {
			wantContains(t, strings.Join(args, " "), e.mustRun(append([]string{"get"}, args...)...), "db-0")
		}
	})
	t.Run("wide and labels", func(t *testing.T) {
		out := e.mustRun("get", "pods", "-o", "wide", "--show-labels")
		wantContains(t, "get -o wide --show-labels", out, "IP", "NODE", "LABELS", "app=db")
	})
	t.Run("all namespaces", func(t *testing.T) {
		out := e.mustRun("get", "pods", "-A")
		if !strings.HasPrefix(out, "NAMESPACE") {
			t.Errorf("get -A: no NAMESPACE column:\n%s", out)
		}
		wantContains(t, "get -A", out, "other", "cache-0", "default", "db-0")
	})
	t.Run("selectors", func(t *testing.T) {
		out := e.mustRun("get", "pods", "-A", "-l", "app=cache", "-o", "name")
		wantLines(t, "get -l", out, "pod/cache-0")
		out = e.mustRun("get", "pods", "--field-selector", "metadata.name=db-1", "-o", "name")
		wantLines(t, "get --field-selector", out, "pod/db-1")
	})
	t.Run("namespace flag", func(t *testing.T) {
		wantLines(t, "get -n other", e.mustRun("get", "pods", "-n", "other", "-o", "name"), "pod/cache-0")
	})
	t.Run("no resources", func(t *testing.T) {
		r := e.run("get", "pods", "-l", "app=none")
		if r.code != 0 || r.out != "" || strings.TrimSpace(r.err) != "No resources found in default namespace." {
			t.Errorf("empty get: code %d, stdout %q, stderr %q", r.code, r.out, r.err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		stderr := e.mustFail("get", "pod", "nope")
		wantContains(t, "stderr", stderr, "error: ", "nope", "not found")
	})
}

func TestGetOutputFormats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.runIn(getFixtures, "apply", "-f", "-")

	t.Run("yaml list", func(t *testing.T) {
		var l map[string]any
		if err := yaml.Unmarshal([]byte(e.mustRun("get", "pods", "-o", "yaml")), &l); err != nil {
			t.Fatal(err)
		}
		items, _ := l["items"].([]any)
		md, _ := l["metadata"].(map[string]any)
		if l["apiVersion"] != "v1" || l["kind"] != "List" || len(items) != 2 || md == nil || md["resourceVersion"] != "" {
			t.Fatalf("get -o yaml is not a List of 2 with metadata.resourceVersion \"\": %v", l)
		}
		first, _ := items[0].(map[string]any)
		if first["kind"] != "Pod" || first["apiVersion"] != "v1" {
			t.Errorf("list item has no type: %v", first)
		}
	})
	t.Run("yaml of several names is a list", func(t *testing.T) {
		out := e.mustRun("get", "pods", "db-0", "db-1", "-o", "yaml")
		wantContains(t, "get NAME NAME -o yaml", out, "kind: List", "name: db-0", "name: db-1")
	})
	t.Run("json single", func(t *testing.T) {
		var p v1.Pod
		if err := json.Unmarshal([]byte(e.mustRun("get", "pod", "db-0", "-o", "json")), &p); err != nil {
			t.Fatal(err)
		}
		if p.Kind != "Pod" || p.Name != "db-0" || p.UID == "" {
			t.Errorf("get -o json: kind %q name %q uid %q", p.Kind, p.Name, p.UID)
		}
	})
	t.Run("name", func(t *testing.T) {
		wantLines(t, "get -o name", e.mustRun("get", "pods", "-o", "name"), "pod/db-0", "pod/db-1")
	})
	t.Run("bad format", func(t *testing.T) {
		wantContains(t, "stderr", e.mustFail("get", "pods", "-o", "xml"), "--output")
	})
}

func TestGetKinds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		args   []string
		header string
	}{
		{[]string{"get", "ns"}, "NAME STATUS AGE"},
		{[]string{"get", "namespaces", "default", "kennel-system"}, "NAME STATUS AGE"},
		{[]string{"get", "ns,cm", "-A"}, "NAME STATUS AGE"},
	}
	for _, c := range cases {
		out := e.mustRun(c.args...)
		first := strings.Join(strings.Fields(strings.SplitN(out, "\n", 2)[0]), " ")
		if first != c.header {
			t.Errorf("%v: header %q, want %q\n%s", c.args, first, c.header, out)
		}
	}
	e.runIn(webManifest, "apply", "-f", "-")
	wantContains(t, "get sts", e.mustRun("get", "sts"), "NAME", "READY", "CURRENT", "UPDATED", "0/2")
	wantContains(t, "get statefulsets -o wide", e.mustRun("get", "statefulsets", "-o", "wide"), "SERVICE")
	wantContains(t, "get svc", e.mustRun("get", "svc"), "CLUSTER-IP", "None", "80/TCP")
}

func TestUnknownKind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("get", "foo")
	if r.code != 1 {
		t.Errorf("exit code %d, want 1", r.code)
	}
	if strings.TrimSpace(r.err) != `error: the server doesn't have a resource type "foo"` {
		t.Errorf("stderr %q", r.err)
	}
}

func TestGetWatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cms := client.For[*v1.ConfigMap](e.tc.Admin, "default")
	if _, err := cms.Create(e.ctx(), configMap("before")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut testcluster.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runCommand(ctx, strings.NewReader(""), &out, &errOut, []string{"--config", e.config, "get", "cm", "-w"})
	}()
	testcluster.Eventually(t, 10*time.Second, "the initial table", func() bool { return strings.Contains(out.String(), "before") })
	if _, err := cms.Create(e.ctx(), configMap("after")); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 10*time.Second, "a row for the new object", func() bool { return strings.Contains(out.String(), "after") })
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("get -w ended with %d: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("get -w did not stop when its context was cancelled")
	}
	if n := strings.Count(out.String(), "NAME"); n != 1 {
		t.Errorf("header printed %d times:\n%s", n, out.String())
	}
}
