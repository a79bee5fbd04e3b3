package agent

import (
	"context"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// TestSweepSparesAPodWithAWorker: the start-up sweep tears down what it
// finds of pods missing from the agent's first list of pods, but a pod
// created since that list already has a worker (before it has a sandbox,
// volumes or a fence file) and must not be marked gone.
func TestSweepSparesAPodWithAWorker(t *testing.T) {
	a := &Agent{workers: map[string]*podWorker{}}
	w := newPodWorker(a, "new-pod")
	w.set(&v1.Pod{ObjectMeta: v1.ObjectMeta{Name: "web-0", UID: "new-pod"}}, false)
	a.workers["new-pod"] = w // as the informer's handler made it (not run here)

	if a.sweepGone(context.Background(), "new-pod") {
		t.Error("the sweep tore down a pod that has a worker")
	}
	w.mu.Lock()
	gone := w.gone
	w.mu.Unlock()
	if gone {
		t.Error("a pod created after the sweep's list was marked gone")
	}
}
