package agent

import (
	"context"
	"fmt"
	"github.com/kennel-dev/kennel/internal/testenv"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/runtime/process"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// workloadBin is the test workload, built once in TestMain.
var workloadBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kennel-agent-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workloadBin, err = testcluster.BuildWorkload(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is a control plane with one agent.
type env struct {
	t       *testing.T
	tc      *testcluster.Cluster
	agent   *Agent
	cfg     Config
	dataDir string
}

// startEnv starts a cluster and an agent named node-1 with pod range
// 127.77.0.0/16 and fast back-off.
func startEnv(t *testing.T, tune func(*Config)) *env {
	t.Helper()
	tc := testcluster.Start(t)
	e := &env{t: t, tc: tc, dataDir: t.TempDir()}
	e.cfg = Config{Client: tc.Client(tc.Token(apiserver.RoleNode, "")), CA: tc.CA, NodeName: "node-1",
		DataDir: e.dataDir, PodCIDR: "127.77.0.0/16", BackoffBase: 200 * time.Millisecond, BackoffMax: time.Second,
		LeaseRenewInterval: 200 * time.Millisecond, Logger: testcluster.FailureLog(t, 64<<10)}
	if tune != nil {
		tune(&e.cfg)
	}
	e.cleanupPods()
	e.startAgent()
	return e
}

func (e *env) startAgent() {
	e.t.Helper()
	a, err := Start(context.Background(), e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.agent = a
	e.t.Cleanup(func() { a.Close() })
}

// cleanupPods removes every sandbox the test's agents left, once they
// are closed, so no process outlives the test. startEnv registers it
// before any agent's Close, so it runs after them.
func (e *env) cleanupPods() {
	e.t.Cleanup(func() {
		if e.agent != nil {
			e.agent.Close()
		}
		cfg := process.Config{Root: filepath.Join(e.dataDir, "pods")}
		if os.Geteuid() == 0 && cgroups.Detect("/sys/fs/cgroup") != cgroups.ModeNone {
			m, err := cgroups.NewManager("/sys/fs/cgroup", cgroups.Detect("/sys/fs/cgroup"), "kennel/"+e.cfg.NodeName)
			if err != nil {
				e.t.Error(err)
				return
			}
			cfg.Cgroups = m
		}
		rt, err := process.New(cfg)
		if err != nil {
			e.t.Error(err)
			return
		}
		defer rt.Close()
		for _, sb := range rt.Sandboxes() {
			if err := rt.RemoveSandbox(context.Background(), sb.UID); err != nil {
				e.t.Errorf("cleanup: %v", err)
			}
		}
		if cfg.Cgroups != nil {
			if _, err := cfg.Cgroups.RemoveParent(); err != nil {
				e.t.Errorf("cleanup: %v", err)
			}
		}
	})
}

// workloadPod is a pod on node-1 running the test workload with args.
func workloadPod(name string, args ...string) *v1.Pod {
	return &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name}},
		Spec: v1.PodSpec{NodeName: "node-1", Containers: []v1.Container{{Name: "main",
			Command: []string{workloadBin}, Args: args}}}}
}

func (e *env) create(p *v1.Pod) *v1.Pod {
	e.t.Helper()
	out, err := client.For[*v1.Pod](e.tc.Admin, p.Namespace).Create(context.Background(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) get(name string) *v1.Pod {
	e.t.Helper()
	p, err := client.For[*v1.Pod](e.tc.Admin, "default").Get(context.Background(), name)
	if err != nil {
		e.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

// waitPod waits until cond holds for the pod and returns it.
func (e *env) waitPod(name string, timeout time.Duration, what string, cond func(*v1.Pod) bool) *v1.Pod {
	e.t.Helper()
	var p *v1.Pod
	// A wait that times out says why the pod was not there yet.
	defer func() {
		if e.t.Failed() {
			e.dumpPod(name)
		}
	}()
	testcluster.Eventually(e.t, timeout, "pod "+name+": "+what, func() bool {
		var err error
		p, err = client.For[*v1.Pod](e.tc.Admin, "default").Get(context.Background(), name)
		return err == nil && cond(p)
	})
	return p
}

// dumpPod logs the pod's status and events, for a failed wait.
func (e *env) dumpPod(name string) {
	ctx := context.Background()
	if p, err := client.For[*v1.Pod](e.tc.Admin, "default").Get(ctx, name); err == nil {
		e.t.Logf("pod %s: phase %s, conditions %+v, containers %+v", name, p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
	}
	evs, err := client.For[*v1.Event](e.tc.Admin, "default").List(ctx, client.ListOptions{})
	if err != nil {
		return
	}
	for _, ev := range evs.Items {
		if ev.InvolvedObject.Name == name {
			e.t.Logf("event %s %s (x%d): %s", ev.Type, ev.Reason, ev.Count, ev.Message)
		}
	}
}

func running(p *v1.Pod) bool {
	return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil
}

func (e *env) log(p *v1.Pod, previous bool) string {
	e.t.Helper()
	path, err := e.agent.Runtime().LogPath(string(p.UID), p.Spec.Containers[0].Name, previous)
	if err != nil {
		return ""
	}
	b, _ := os.ReadFile(path)
	return string(b)
}

func requireRoot(t *testing.T) {
	t.Helper()
	testenv.RequireRoot(t, "cgroup limits, namespaces and mounts are tested for real")
}
