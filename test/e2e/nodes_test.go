package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// startDaemon starts a long-running kennel command and waits for a line
// starting with ready on its stdout.
func (k *kennel) startDaemon(ready string, args ...string) *exec.Cmd {
	k.t.Helper()
	cmd := exec.Command(k.bin, args...)
	cmd.Env = k.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), ready) {
				found <- true
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		if !ok {
			k.t.Fatalf("kennel %s exited early: %s", args[0], stderr.String())
		}
	case <-time.After(60 * time.Second):
		k.t.Fatalf("kennel %s not ready in 60s: %s", args[0], stderr.String())
	}
	return cmd
}

// client is an admin client from the config `kennel server --write-config`
// wrote.
func (k *kennel) client() *client.Client {
	k.t.Helper()
	f, err := client.LoadFile(filepath.Join(k.home, "config"))
	if err != nil {
		k.t.Fatal(err)
	}
	ctx, err := f.Context("")
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

// agent starts `kennel agent` for node name with a fresh node token.
func (k *kennel) agent(name, cidr string) *exec.Cmd {
	k.t.Helper()
	tok := strings.TrimSpace(k.mustRun("", "token", "create", "--role", "node", "--description", name))
	return k.startDaemon("Kennel agent for node", "agent", "--name", name, "--token", tok, "--pod-cidr", cidr,
		"--data-dir", filepath.Join(k.home, "agent-"+name), "--log-level", "warn")
}

// killWorkloads kills every process running bin and removes the cgroups
// of the test's nodes, for pods whose agent was killed.
func killWorkloads(t *testing.T, bin string, nodes ...string) {
	t.Cleanup(func() {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.HasPrefix(b, []byte(bin+"\x00")) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		for _, n := range nodes {
			dirs, _ := filepath.Glob("/sys/fs/cgroup/*/kennel/" + n + "/*")
			nodeDirs, _ := filepath.Glob("/sys/fs/cgroup/*/kennel/" + n)
			for _, d := range append(dirs, nodeDirs...) {
				if st, err := os.Stat(d); err == nil && st.IsDir() {
					testcluster.Eventually(t, 5*time.Second, "cgroup "+d+" removed", func() bool {
						err := os.Remove(d)
						return err == nil || errors.Is(err, os.ErrNotExist)
					})
				}
			}
		}
	})
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func getPod(t *testing.T, c *client.Client, name string) *v1.Pod {
	p, err := client.For[*v1.Pod](c, "default").Get(context.Background(), name)
	if err != nil {
		return nil
	}
	return p
}

// TestAgentKillAdoptionLogsExecAndFailover runs a control plane and two
// agents as separate processes: an agent killed with SIGKILL leaves its
// pod running, and started again adopts it with the same pid and no
// restart; logs and exec go through the API server; a node whose agent
// stays dead goes NotReady and its Deployment pods are recreated on the
// other node; a pod with an image stays Pending with the reason.
func TestAgentKillAdoptionLogsExecAndFailover(t *testing.T) {
	k := build(t)
	wl := filepath.Join(filepath.Dir(k.bin), "workload")
	if out, err := exec.Command("go", "build", "-o", wl, "../workload").CombinedOutput(); err != nil {
		t.Fatalf("build workload: %v\n%s", err, out)
	}
	killWorkloads(t, wl, "e2e-n1", "e2e-n2")
	k.startDaemon("Kennel is up", "server", "--data-dir", filepath.Join(k.home, "data"), "--listen", "127.0.0.1:0", "--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", "",
		"--write-config", "--node-monitor-grace-period", "3s", "--pod-eviction-timeout", "2s", "--log-level", "warn")
	c := k.client()
	a1 := k.agent("e2e-n1", "127.61.0.0/16")
	k.agent("e2e-n2", "127.62.0.0/16")

	k.mustRun(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: pet}
spec:
  nodeSelector: {kubernetes.io/hostname: e2e-n1}
  containers:
  - name: main
    command: [%q, "--listen", "$(POD_IP):8080", "--log-every", "100ms"]
    readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}
`, wl), "apply", "-f", "-")
	var pod *v1.Pod
	testcluster.Eventually(t, 30*time.Second, "pod pet Ready on e2e-n1", func() bool {
		pod = getPod(t, c, "pet")
		return pod != nil && v1.IsPodReady(pod) && pod.Spec.NodeName == "e2e-n1"
	})
	id := pod.Status.ContainerStatuses[0].ContainerID
	pid, _ := strconv.Atoi(strings.TrimPrefix(id, "process://"))

	// Logs and exec through the API server.
	// The pod logs a numbered line every 100 ms once it is up.
	testcluster.Eventually(t, 10*time.Second, "kennel logs --tail 1 shows one periodic line", func() bool {
		out := k.mustRun("", "logs", "pet", "--tail", "1")
		return strings.HasPrefix(out, "log ") && strings.Count(out, "\n") == 1
	})
	out, _, err := k.run("", "exec", "pet", "--", "sh", "-c", "echo $POD_NAME; exit 3")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || out != "pet\n" {
		t.Fatalf("kennel exec: %q, %v (want output pet and exit code 3)", out, err)
	}

	// SIGKILL the agent: the pod's process lives on; a new agent adopts it.
	a1.Process.Signal(syscall.SIGKILL)
	a1.Wait()
	if !alive(pid) {
		t.Fatal("the pod's process died with its agent")
	}
	k.agent("e2e-n1", "127.61.0.0/16")
	testcluster.Eventually(t, 20*time.Second, "logs served by the restarted agent", func() bool {
		out, _, err := k.run("", "logs", "pet", "--tail", "1")
		return err == nil && strings.HasPrefix(out, "log ")
	})
	pod = getPod(t, c, "pet")
	if cs := pod.Status.ContainerStatuses[0]; cs.ContainerID != id || cs.RestartCount != 0 || !alive(pid) {
		t.Fatalf("after the agent restart: %+v, want %s with restartCount 0", cs, id)
	}
	// The restarted agent's process is the pod's parent no longer; kill
	// it again, for good, to fail the node over.
	testFailover(t, k, c, wl)
}

func testFailover(t *testing.T, k *kennel, c *client.Client, wl string) {
	k.mustRun(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: cattle}
spec:
  replicas: 2
  selector: {matchLabels: {app: cattle}}
  template:
    metadata: {labels: {app: cattle}}
    spec:
      containers:
      - name: main
        command: [%q, "--listen", "$(POD_IP):8080"]
        resources: {requests: {cpu: 100m}}
---
apiVersion: v1
kind: Pod
metadata: {name: imaged}
spec:
  containers: [{name: main, image: "redis:7"}]
`, wl), "apply", "-f", "-")
	onNode := func(node string) (n int) {
		pods, err := client.For[*v1.Pod](c, "default").List(context.Background(), client.ListOptions{LabelSelector: "app=cattle"})
		if err != nil {
			return -1
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName == node && p.DeletionTimestamp == nil && p.Status.Phase == v1.PodRunning {
				n++
			}
		}
		return n
	}
	testcluster.Eventually(t, 30*time.Second, "one cattle pod running on each node", func() bool {
		return onNode("e2e-n1") == 1 && onNode("e2e-n2") == 1
	})
	// A one-pet PetSet that may only run where pets=ok: e2e-n1 for now.
	setPetsLabel(t, c, "e2e-n1")
	k.mustRun(fmt.Sprintf(`apiVersion: kennel.io/v1
kind: PetSet
metadata: {name: guard}
spec:
  serviceName: guard
  replicas: 1
  selector: {matchLabels: {app: guard}}
  template:
    metadata: {labels: {app: guard}}
    spec:
      nodeSelector: {pets: ok}
      containers:
      - name: main
        command: [%q, "--listen", "$(POD_IP):8080"]
`, wl), "apply", "-f", "-")
	if !testcluster.Within(30*time.Second, func() bool {
		p := getPod(t, c, "guard-0")
		return p != nil && p.Spec.NodeName == "e2e-n1" && v1.IsPodReady(p)
	}) {
		t.Fatalf("pet guard-0 not Ready on e2e-n1 after 30 s\n%s", podReport(c, "guard-0"))
	}
	guard := getPod(t, c, "guard-0")
	// Find and kill e2e-n1's agent (the second one started).
	var agentPid int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if bytes.HasPrefix(b, []byte(k.bin+"\x00agent\x00--name\x00e2e-n1\x00")) {
			agentPid, _ = strconv.Atoi(e.Name())
		}
	}
	if agentPid == 0 {
		t.Fatal("cannot find the agent of e2e-n1")
	}
	syscall.Kill(agentPid, syscall.SIGKILL)
	killed := time.Now()
	testcluster.Eventually(t, 20*time.Second, "node e2e-n1 NotReady", func() bool {
		n, err := client.For[*v1.Node](c, "").Get(context.Background(), "e2e-n1")
		if err != nil {
			return false
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == v1.NodeReady {
				return cond.Status != v1.ConditionTrue
			}
		}
		return false
	})
	// Grace 3 s from the last renewal (every 5 s) plus the controller's
	// reaction: well under 10 s.
	if d := time.Since(killed); d > 10*time.Second {
		t.Fatalf("node went NotReady %v after its agent died", d)
	}
	testcluster.Eventually(t, 40*time.Second, "both cattle pods running on e2e-n2", func() bool { return onNode("e2e-n2") == 2 })
	if p := getPod(t, c, "pet"); p == nil || v1.IsPodReady(p) {
		t.Fatalf("the pet on the dead node must be not Ready and never replaced: %+v", p)
	}
	// The cattle were replaced, so the node is known unreachable; the
	// PetSet's pet was not: same pod, still bound to the dead node.
	if p := getPod(t, c, "guard-0"); p == nil || p.UID != guard.UID || p.Spec.NodeName != "e2e-n1" {
		t.Fatalf("the PetSet's pet on the unreachable node was replaced: %+v", p)
	}
	// An operator declares e2e-n1 dead: its pods are removed from the API
	// and the pet comes back, once, on e2e-n2.
	setPetsLabel(t, c, "e2e-n2")
	if out := k.mustRun("", "node", "fence", "e2e-n1"); !strings.Contains(out, "fenced") {
		t.Fatalf("kennel node fence: %q", out)
	}
	testcluster.Eventually(t, 30*time.Second, "pet guard-0 recreated and Ready on e2e-n2", func() bool {
		p := getPod(t, c, "guard-0")
		return p != nil && p.UID != guard.UID && p.Spec.NodeName == "e2e-n2" && v1.IsPodReady(p)
	})
	// The scheduler says why on the pod's PodScheduled condition (written
	// asynchronously: a loaded machine may not have written it yet).
	stuck := func() bool {
		p := getPod(t, c, "imaged")
		if p == nil || p.Spec.NodeName != "" {
			return false
		}
		cond := v1.GetPodCondition(&p.Status, v1.PodScheduled)
		return cond != nil && strings.Contains(cond.Message, "node's runtime cannot run images")
	}
	if !testcluster.Within(20*time.Second, stuck) {
		t.Fatalf("pod with an image not Pending with the runtime's reason after 20 s\n%s", podReport(c, "imaged"))
	}
}

// setPetsLabel labels a node pets=ok, where the test's PetSet may run.
func setPetsLabel(t *testing.T, c *client.Client, node string) {
	t.Helper()
	if _, err := client.For[*v1.Node](c, "").Patch(context.Background(), node, []byte(`{"metadata":{"labels":{"pets":"ok"}}}`)); err != nil {
		t.Fatal(err)
	}
}

func nodeIsReady(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}
