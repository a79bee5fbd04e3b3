package agent

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestNodeRegistersAndHeartbeats(t *testing.T) {
	dev, err := ParseStorage(t.TempDir()+":iops=500,bandwidth=100Mi,media=NVMe,name=fast", 0)
	if err != nil {
		t.Fatal(err)
	}
	bw := resource.MustParse("10G")
	e := startEnv(t, func(c *Config) {
		c.Labels = map[string]string{v1.LabelTopologyZone: "z1"}
		c.Storage = []v1.NodeStorageDevice{dev}
		c.Network = &v1.NodeNetwork{Interface: "lo", Bandwidth: &bw}
	})
	n, err := client.For[*v1.Node](e.tc.Admin, "").Get(context.Background(), "node-1")
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels[v1.LabelTopologyZone] != "z1" || n.Labels[v1.LabelRuntimeImages] != "false" || n.Labels[v1.LabelHostname] != "node-1" {
		t.Fatalf("labels: %v", n.Labels)
	}
	if n.Spec.PodCIDR != "127.77.0.0/16" || !nodeReady(n) || n.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 ||
		len(n.Annotations[v1.AnnotationAgentCertSHA256]) != 64 {
		t.Fatalf("node: %+v", n)
	}
	pods := n.Status.Allocatable[v1.ResourcePods]
	nb := n.Status.Allocatable[v1.ResourceNetworkBandwidth]
	if pods.Value() != 110 || nb.Value() != 10e9 || len(n.Status.Storage) != 1 || n.Status.Storage[0].IOPS.Value() != 500 ||
		n.Status.Storage[0].Device == "" || n.Status.Storage[0].Name != "fast" {
		t.Fatalf("resources: %+v %+v", n.Status.Allocatable, n.Status.Storage)
	}
	leases := client.For[*v1.Lease](e.tc.Admin, v1.NamespaceLeases)
	l, err := leases.Get(context.Background(), "node-1")
	if err != nil {
		t.Fatal(err)
	}
	first := l.Spec.RenewTime.Time
	testcluster.Eventually(t, 5*time.Second, "the lease is renewed", func() bool {
		l, err := leases.Get(context.Background(), "node-1")
		return err == nil && l.Spec.RenewTime.After(first)
	})
}

func TestPodRunsReadyWithEnvAndAddress(t *testing.T) {
	e := startEnv(t, nil)
	p := workloadPod("web", "--listen", "$(POD_IP):8080", "--ready-after", "300ms", "--print", "label=$(APP) node=$(NODE)")
	p.Spec.Containers[0].Env = []v1.EnvVar{
		{Name: "APP", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
		{Name: "NODE", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "GREETING", Value: "hi $(APP)"},
	}
	p.Spec.Containers[0].ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 1}
	e.create(p)
	p = e.waitPod("web", 60*time.Second, "Ready", v1.IsPodReady)
	if p.Status.Phase != v1.PodRunning || !strings.HasPrefix(p.Status.PodIP, "127.77.") || p.Status.HostIP != "127.0.0.1" {
		t.Fatalf("status: %+v", p.Status)
	}
	cs := p.Status.ContainerStatuses[0]
	if !cs.Ready || cs.RestartCount != 0 || cs.Started == nil || !*cs.Started || !strings.HasPrefix(cs.ContainerID, "process://") {
		t.Fatalf("container status: %+v", cs)
	}
	if c := v1.GetPodCondition(&p.Status, v1.PodScheduled); c == nil || c.Status != v1.ConditionTrue {
		t.Fatalf("PodScheduled: %+v", c)
	}
	if log := e.log(p, false); !strings.Contains(log, "label=web node=node-1") || !strings.Contains(log, "listening on "+p.Status.PodIP+":8080") {
		t.Fatalf("log:\n%s", log)
	}
	resp, err := http.Get("http://" + p.Status.PodIP + ":8080/env")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"GREETING=hi web", "POD_NAME=web", "POD_NAMESPACE=default", "POD_IP=" + p.Status.PodIP} {
		if !bytes.Contains(body, []byte(want)) {
			t.Fatalf("env lacks %q:\n%s", want, body)
		}
	}
	// A second pod listens on the same port at its own address.
	e.create(workloadPod("web2", "--listen", "$(POD_IP):8080"))
	p2 := e.waitPod("web2", 60*time.Second, "Running", running)
	if p2.Status.PodIP == p.Status.PodIP {
		t.Fatal("two pods share an address")
	}
	testcluster.Eventually(t, 10*time.Second, "web2 listens", func() bool {
		return strings.Contains(e.log(p2, false), "listening on "+p2.Status.PodIP+":8080")
	})
}

func TestRestartPolicies(t *testing.T) {
	e := startEnv(t, nil)
	never := workloadPod("never", "--crash-after", "100ms", "--exit-code", "3")
	never.Spec.RestartPolicy = v1.RestartPolicyNever
	onFailure := workloadPod("done", "--exit-after", "100ms")
	onFailure.Spec.RestartPolicy = v1.RestartPolicyOnFailure
	always := workloadPod("always", "--crash-after", "100ms")
	e.create(never)
	e.create(onFailure)
	e.create(always)
	p := e.waitPod("never", 60*time.Second, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 3 || term.Reason != "Error" || p.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("never: %+v", p.Status.ContainerStatuses[0])
	}
	p = e.waitPod("done", 60*time.Second, "Succeeded", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodSucceeded })
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != "Completed" {
		t.Fatalf("onFailure: %+v", p.Status.ContainerStatuses[0])
	}
	// Always: restarted, with back-off between the later restarts.
	p = e.waitPod("always", 60*time.Second, "restarted twice", func(p *v1.Pod) bool {
		return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount >= 2
	})
	if last := p.Status.ContainerStatuses[0].LastState.Terminated; last == nil || last.ExitCode != 1 {
		t.Fatalf("always: lastState %+v", p.Status.ContainerStatuses[0].LastState)
	}
	if p.Status.Phase != v1.PodRunning {
		t.Fatalf("always: phase %s", p.Status.Phase)
	}
	// Never and OnFailure did not restart.
	if n := e.get("never").Status.ContainerStatuses[0].RestartCount; n != 0 {
		t.Fatalf("never restarted %d times", n)
	}
}

func TestLivenessFailureRestartsWithBackoff(t *testing.T) {
	e := startEnv(t, nil)
	p := workloadPod("sick", "--listen", "$(POD_IP):8080", "--unhealthy-after", "200ms")
	p.Spec.Containers[0].LivenessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 1, FailureThreshold: 1}
	grace := int64(1)
	p.Spec.TerminationGracePeriodSeconds = &grace
	e.create(p)
	p = e.waitPod("sick", 40*time.Second, "restarted by liveness twice", func(p *v1.Pod) bool {
		if len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		return p.Status.ContainerStatuses[0].RestartCount >= 2
	})
	if last := p.Status.ContainerStatuses[0].LastState.Terminated; last == nil || last.ExitCode != 143 {
		t.Fatalf("lastState: %+v (want killed by SIGTERM, 143)", p.Status.ContainerStatuses[0].LastState)
	}
	// The back-off between restarts (200 ms, 400 ms here) is checked by
	// TestBackoffSequence; the CrashLoopBackOff state by TestCrashLoopBackOffState.
	evs, _ := client.For[*v1.Event](e.tc.Admin, "default").List(context.Background(), client.ListOptions{})
	found := false
	for _, ev := range evs.Items {
		found = found || (ev.Reason == "Unhealthy" && ev.InvolvedObject.Name == "sick" && strings.Contains(ev.Message, "liveness probe failed"))
	}
	if !found {
		t.Fatal("no Unhealthy event for the liveness failure")
	}
}

func TestDeleteIsGracefulAndObjectOutlivesProcess(t *testing.T) {
	e := startEnv(t, nil)
	e.create(workloadPod("polite", "--trap-sigterm", "--term-delay", "1500ms"))
	p := e.waitPod("polite", 60*time.Second, "Running", running)
	pid := p.Status.ContainerStatuses[0].ContainerID[len("process://"):]
	grace := int64(10)
	began := time.Now()
	if _, err := client.For[*v1.Pod](e.tc.Admin, "default").Delete(context.Background(), "polite", client.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	// While the process handles SIGTERM the object is still there.
	testcluster.Eventually(t, 10*time.Second, "SIGTERM delivered", func() bool { return strings.Contains(e.log(p, false), "sigterm received") })
	if _, err := client.For[*v1.Pod](e.tc.Admin, "default").Get(context.Background(), "polite"); err != nil {
		t.Fatalf("the pod object went before its process: %v", err)
	}
	testcluster.Eventually(t, 15*time.Second, "the pod object is gone", func() bool {
		_, err := client.For[*v1.Pod](e.tc.Admin, "default").Get(context.Background(), "polite")
		return v1.IsNotFound(err)
	})
	if time.Since(began) < 1500*time.Millisecond {
		t.Fatalf("the object went after %v, before the process's 1.5 s shutdown", time.Since(began))
	}
	if _, err := readProcStat("/proc", atoi(pid)); err == nil {
		t.Fatalf("process %s still exists", pid)
	}
}

func TestAgentRestartAdoptsPods(t *testing.T) {
	e := startEnv(t, nil)
	p := workloadPod("kept", "--listen", "$(POD_IP):8080")
	p.Spec.Containers[0].ReadinessProbe = &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1}
	e.create(p)
	p = e.waitPod("kept", 60*time.Second, "Ready", v1.IsPodReady)
	id := p.Status.ContainerStatuses[0].ContainerID
	e.agent.Close()
	e.startAgent()
	// Give the new agent time to converge, then check it changed nothing.
	testcluster.Eventually(t, 10*time.Second, "the new agent serves the pod", func() bool {
		_, ok := e.agent.podByName("default", "kept")
		return ok
	})
	p = e.waitPod("kept", 60*time.Second, "Ready again", v1.IsPodReady)
	cs := p.Status.ContainerStatuses[0]
	if cs.ContainerID != id || cs.RestartCount != 0 || p.Status.PodIP == "" {
		t.Fatalf("after restart: %+v (want %s, restartCount 0)", cs, id)
	}
}

func TestMemoryLimitOOMKilledAndCPULimit(t *testing.T) {
	requireRoot(t)
	mode := cgroups.Detect("/sys/fs/cgroup")
	e := startEnv(t, nil)
	hog := workloadPod("hog", "--alloc-mb", "200")
	hog.Spec.RestartPolicy = v1.RestartPolicyNever
	hog.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")}
	burn := workloadPod("burn", "--burn-cpu", "2")
	burn.Spec.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m")}
	e.create(hog)
	burn = e.create(burn)
	p := e.waitPod("hog", 30*time.Second, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Fatalf("hog: %+v", p.Status.ContainerStatuses[0].State)
	}
	e.waitPod("burn", 60*time.Second, "Running", running)
	// Read through the cgroups package, so the test runs on v1 and v2.
	m, err := cgroups.NewManager("/sys/fs/cgroup", mode, "kennel/node-1")
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.Open(string(burn.UID))
	if err != nil {
		t.Fatal(err)
	}
	quotaFile, want := filepath.Join(g.Dir(), "cpu.cfs_quota_us"), "50000"
	if mode == cgroups.ModeV2 {
		quotaFile, want = filepath.Join(g.Dir(), "cpu.max"), "50000 100000"
	}
	if q, err := os.ReadFile(quotaFile); err != nil || strings.TrimSpace(string(q)) != want {
		t.Fatalf("cpu quota %q %v, want %q", q, err, want)
	}
	stats := func() cgroups.Stats {
		st, err := g.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	first, t0 := stats(), time.Now()
	testcluster.Eventually(t, 10*time.Second, "a 2 s measuring window", func() bool { return time.Since(t0) >= 2*time.Second })
	cpus, err := cgroups.CheckCPULimit(first, stats(), time.Since(t0), 500)
	if err != nil {
		t.Fatalf("burn: %v", err)
	}
	t.Logf("burn used %.3f CPUs under a 500m limit", cpus)
}

func TestCrashLoopBackOffState(t *testing.T) {
	e := startEnv(t, func(c *Config) { c.BackoffBase, c.BackoffMax = 30*time.Second, time.Minute })
	e.create(workloadPod("crashy", "--crash-after", "50ms", "--exit-code", "2"))
	// The first restart is immediate; the second waits 30 s, shown as
	// CrashLoopBackOff with the last exit.
	p := e.waitPod("crashy", 60*time.Second, "CrashLoopBackOff", func(p *v1.Pod) bool {
		if len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == "CrashLoopBackOff"
	})
	cs := p.Status.ContainerStatuses[0]
	if cs.RestartCount != 1 || cs.LastState.Terminated == nil || cs.LastState.Terminated.ExitCode != 2 ||
		!strings.Contains(cs.State.Waiting.Message, "back-off") || p.Status.Phase != v1.PodRunning || v1.IsPodReady(p) {
		t.Fatalf("status: phase %s %+v", p.Status.Phase, cs)
	}
}
