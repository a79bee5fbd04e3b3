// Package e2e runs the real kennel binary end to end.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// kennel is a built binary plus the environment it runs in.
type kennel struct {
	t    *testing.T
	bin  string
	home string
}

func build(t *testing.T) *kennel {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "kennel")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/kennel").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return &kennel{t: t, bin: bin, home: filepath.Join(dir, "home")}
}

func (k *kennel) env() []string { return append(os.Environ(), "KENNEL_HOME="+k.home) }

// run runs a CLI command and returns stdout, stderr and the exit error.
func (k *kennel) run(stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Env = k.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (k *kennel) mustRun(stdin string, args ...string) string {
	k.t.Helper()
	out, errOut, err := k.run(stdin, args...)
	if err != nil {
		k.t.Fatalf("kennel %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// up starts `kennel up` and waits until it says it is up.
func (k *kennel) up(args ...string) *exec.Cmd {
	k.t.Helper()
	return k.startDaemon("Kennel is up", append([]string{"up", "--data-dir", filepath.Join(k.home, "data"), "--listen", "127.0.0.1:0", "--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", ""}, args...)...)
}

const manifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels:
    app: db
data:
  mode: primary
---
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
`

func TestUpApplyKillRestart(t *testing.T) {
	k := build(t)
	cmd := k.up("--nodes", "2")
	// Two agents in the one process, each its own node and pod range.
	c := k.client()
	for i, name := range []string{"node-1", "node-2"} {
		n, err := client.For[*v1.Node](c, "").Get(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("127.%d.0.0/16", i+1); n.Spec.PodCIDR != want || !nodeIsReady(n) {
			t.Fatalf("node %s: podCIDR %q ready %v, want %s and Ready", name, n.Spec.PodCIDR, nodeIsReady(n), want)
		}
	}
	out := k.mustRun(manifest, "apply", "-f", "-")
	for _, want := range []string{"configmap/settings created", "namespace/team-a created"} {
		if !strings.Contains(out, want) {
			t.Fatalf("apply output %q lacks %q", out, want)
		}
	}
	if out := k.mustRun(manifest, "apply", "-f", "-"); !strings.Contains(out, "configmap/settings unchanged") {
		t.Fatalf("re-apply: %q", out)
	}
	if out := k.mustRun("", "get", "cm", "settings", "-o", "name"); strings.TrimSpace(out) != "configmap/settings" {
		t.Fatalf("get: %q", out)
	}

	// kill -9: no clean shutdown at all.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	k.up()
	out = k.mustRun("", "get", "configmaps", "-l", "app=db")
	if !strings.Contains(out, "settings") {
		t.Fatalf("after kill -9 and restart, get configmaps: %q", out)
	}
	out = k.mustRun("", "get", "ns")
	if !strings.Contains(out, "team-a") {
		t.Fatalf("after restart, namespaces: %q", out)
	}
}

func TestUpStopsCleanlyOnSIGTERM(t *testing.T) {
	k := build(t)
	cmd := k.up()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("kennel up exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("kennel up did not stop within 30s of SIGTERM")
	}
	// The data dir is free again: a second start works.
	k.up()
}

func TestSecondUpOnSameDataDirIsRefused(t *testing.T) {
	k := build(t)
	k.up()
	_, errOut, err := k.run("", "up", "--data-dir", filepath.Join(k.home, "data"), "--listen", "127.0.0.1:0", "--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", "")
	if err == nil || !strings.Contains(errOut, "in use") {
		t.Fatalf("second kennel up on the same data dir: err %v, stderr %q", err, errOut)
	}
}

func TestCLIErrors(t *testing.T) {
	k := build(t)
	k.up()
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"get", "widgets"}, `doesn't have a resource type "widgets"`},
		{"kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\ndata: [oops\n", []string{"apply", "-f", "-"}, "yaml"},
		{"kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\nspec: {}\n", []string{"apply", "-f", "-"}, "spec: unknown field"},
		{"kind: ConfigMap\napiVersion: apps/v1\nmetadata: {name: x}\n", []string{"apply", "-f", "-"}, "apiVersion"},
		{"kind: Gizmo\napiVersion: v1\nmetadata: {name: x}\n", []string{"apply", "-f", "-"}, "Gizmo"},
		{"kind: ConfigMap\napiVersion: v1\nmetadata: {name: Bad_Name}\n", []string{"apply", "-f", "-"}, "metadata.name"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " ")+" "+fmt.Sprint(len(c.stdin)), func(t *testing.T) {
			_, errOut, err := k.run(c.stdin, c.args...)
			if err == nil {
				t.Fatal("succeeded, want an error")
			}
			if !strings.Contains(strings.ToLower(errOut), strings.ToLower(c.want)) {
				t.Fatalf("stderr %q does not mention %q", errOut, c.want)
			}
		})
	}
	if out := k.mustRun("", "get", "cm", "-o", "name"); strings.Contains(out, "configmap/x") {
		t.Fatalf("a rejected object was stored: %q", out)
	}
}
