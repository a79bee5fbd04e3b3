package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// shContainer is a container running script with sh -c.
func shContainer(name, script string) v1.Container {
	return v1.Container{Name: name, Command: []string{"sh", "-c", script}}
}

// initPod is a pod on node-1 with the given init containers and one main
// container running script.
func initPod(name, mainScript string, inits ...v1.Container) *v1.Pod {
	p := workloadPod(name)
	p.Spec.Containers[0] = shContainer("main", mainScript)
	p.Spec.InitContainers = inits
	return p
}

func initialized(p *v1.Pod) *v1.PodCondition { return v1.GetPodCondition(&p.Status, v1.PodInitialized) }

// mainWaitsForInit fails the test unless the pod's main container has not
// started and says it waits for the init containers.
func mainWaitsForInit(t *testing.T, p *v1.Pod) {
	t.Helper()
	if len(p.Status.ContainerStatuses) != 1 {
		t.Fatalf("containerStatuses: %+v", p.Status.ContainerStatuses)
	}
	cs := p.Status.ContainerStatuses[0]
	if w := cs.State.Waiting; w == nil || w.Reason != "PodInitializing" || cs.RestartCount != 0 || cs.Ready {
		t.Fatalf("main container: %+v", cs)
	}
}

func TestInitContainersRunInOrderBeforeMain(t *testing.T) {
	e := startEnv(t, nil)
	dir := t.TempDir()
	order, seen, gate := filepath.Join(dir, "order"), filepath.Join(dir, "seen"), filepath.Join(dir, "gate")
	// init-1 waits for the test's gate, so the test sees the pod
	// initializing, and an init-2 started alongside it would write first.
	e.create(initPod("ordered", "cat "+order+" > "+seen+"; echo main >> "+order+"; exec sleep 600",
		shContainer("init-1", "while [ ! -e "+gate+" ]; do sleep 0.05; done; echo init-1 >> "+order),
		shContainer("init-2", "echo init-2 >> "+order)))

	p := e.waitPod("ordered", 60*time.Second, "init-1 running", func(p *v1.Pod) bool {
		return len(p.Status.InitContainerStatuses) == 2 && p.Status.InitContainerStatuses[0].State.Running != nil
	})
	if p.Status.Phase != v1.PodPending {
		t.Fatalf("phase while initializing: %s", p.Status.Phase)
	}
	if c := initialized(p); c == nil || c.Status != v1.ConditionFalse || c.Reason != "ContainersNotInitialized" ||
		c.Message != "containers with incomplete status: [init-1 init-2]" {
		t.Fatalf("Initialized while initializing: %+v", c)
	}
	if ics := p.Status.InitContainerStatuses; ics[0].Ready || ics[1].State.Waiting == nil || ics[1].State.Waiting.Reason != "PodInitializing" {
		t.Fatalf("init container statuses while init-1 runs: %+v", ics)
	}
	mainWaitsForInit(t, p)
	if _, err := os.Stat(order); !os.IsNotExist(err) {
		t.Fatalf("something ran before init-1 completed: %v", err)
	}

	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p = e.waitPod("ordered", 60*time.Second, "Running", running)
	if p.Status.Phase != v1.PodRunning {
		t.Fatalf("phase: %s", p.Status.Phase)
	}
	if c := initialized(p); c == nil || c.Status != v1.ConditionTrue {
		t.Fatalf("Initialized: %+v", c)
	}
	for i, cs := range p.Status.InitContainerStatuses {
		term := cs.State.Terminated
		if term == nil || term.ExitCode != 0 || term.Reason != "Completed" || !cs.Ready || cs.RestartCount != 0 {
			t.Fatalf("init container %d: %+v", i, cs)
		}
	}
	var got []byte
	e.waitPod("ordered", 10*time.Second, "main wrote its line", func(*v1.Pod) bool {
		got, _ = os.ReadFile(order)
		return strings.Contains(string(got), "main")
	})
	if s := strings.Join(strings.Fields(string(got)), " "); s != "init-1 init-2 main" {
		t.Fatalf("order: %q", s)
	}
	if b, _ := os.ReadFile(seen); strings.Join(strings.Fields(string(b)), " ") != "init-1 init-2" {
		t.Fatalf("main's first read: %q", b)
	}
}

func TestFailingInitContainer(t *testing.T) {
	e := startEnv(t, nil) // back-off 200 ms, at most 1 s
	dir := t.TempDir()
	ran := func(name string) string { return filepath.Join(dir, name+"-main") }
	tries := filepath.Join(dir, "tries")

	// Always: the init container is retried, and the main container waits.
	e.create(initPod("stuck", "touch "+ran("stuck")+"; exec sleep 600", shContainer("init-1", "exit 1")))
	// Never: the pod fails.
	never := initPod("never", "touch "+ran("never")+"; exec sleep 600", shContainer("init-1", "exit 1"))
	never.Spec.RestartPolicy = v1.RestartPolicyNever
	e.create(never)
	// OnFailure: the third try passes, then the main container runs and
	// crashes; its restarts do not run the completed init container again.
	flaky := initPod("flaky", "echo main >> "+ran("flaky")+"; exit 1",
		shContainer("init-1", "echo try >> "+tries+"; [ `wc -l < "+tries+"` -ge 3 ]"))
	flaky.Spec.RestartPolicy = v1.RestartPolicyOnFailure
	e.create(flaky)

	p := e.waitPod("stuck", 60*time.Second, "init-1 restarted twice", func(p *v1.Pod) bool {
		return len(p.Status.InitContainerStatuses) == 1 && p.Status.InitContainerStatuses[0].RestartCount >= 2
	})
	if last := p.Status.InitContainerStatuses[0].LastState.Terminated; last == nil || last.ExitCode != 1 || p.Status.InitContainerStatuses[0].Ready {
		t.Fatalf("stuck: init status %+v", p.Status.InitContainerStatuses[0])
	}
	if c := initialized(p); p.Status.Phase != v1.PodPending || c == nil || c.Status != v1.ConditionFalse ||
		c.Message != "containers with incomplete status: [init-1]" {
		t.Fatalf("stuck: phase %s, Initialized %+v", p.Status.Phase, c)
	}
	mainWaitsForInit(t, p)

	p = e.waitPod("never", 60*time.Second, "Failed", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodFailed })
	ics := p.Status.InitContainerStatuses[0]
	if term := ics.State.Terminated; term == nil || term.ExitCode != 1 || term.Reason != "Error" || ics.RestartCount != 0 || ics.Ready {
		t.Fatalf("never: init status %+v", ics)
	}
	if c := initialized(p); c == nil || c.Status != v1.ConditionFalse {
		t.Fatalf("never: Initialized %+v", c)
	}
	mainWaitsForInit(t, p)

	p = e.waitPod("flaky", 60*time.Second, "main restarted", func(p *v1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	if ics := p.Status.InitContainerStatuses[0]; ics.RestartCount != 2 || !ics.Ready || ics.State.Terminated == nil {
		t.Fatalf("flaky: init status %+v", ics)
	}
	if b, _ := os.ReadFile(tries); strings.Count(string(b), "try") != 3 {
		t.Fatalf("flaky: init-1 ran %d times, want 3", strings.Count(string(b), "try"))
	}
	for _, name := range []string{"stuck", "never"} {
		if _, err := os.Stat(ran(name)); !os.IsNotExist(err) {
			t.Fatalf("%s: the main container ran (%v)", name, err)
		}
	}
}
