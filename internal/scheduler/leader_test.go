package scheduler_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/leaderelection"
	"github.com/kennel-dev/kennel/internal/scheduler"
	"github.com/kennel-dev/kennel/internal/scheduler/extender"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// TestLeaderElectionOneSchedulerActs: two schedulers stand for one Lease
// (as two control planes do); only the holder binds pods, never both, and
// when it steps down the other takes over. Each scheduler binds through
// its own binding extender, which records what it bound.
func TestLeaderElectionOneSchedulerActs(t *testing.T) {
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	node := &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n1"}}
	node, err := client.For[*v1.Node](tc.Admin, "").Create(ctx, node)
	if err != nil {
		t.Fatal(err)
	}
	node.Status = v1.NodeStatus{
		Allocatable: v1.ResourceList{v1.ResourceCPU: resource.MustParse("8"), v1.ResourceMemory: resource.MustParse("8Gi"), v1.ResourcePods: resource.MustParse("110")},
		Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
	}
	if _, err := client.For[*v1.Node](tc.Admin, "").UpdateStatus(ctx, node); err != nil {
		t.Fatal(err)
	}

	binders := map[string]*testExtender{}
	leading := map[string]chan struct{}{}
	stop := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, id := range []string{"a", "b"} {
		binders[id] = newTestExtender(t, tc.Admin)
		s, err := scheduler.New(tc.Admin, nil, scheduler.Config{Workers: 4, Extenders: []extender.Config{binders[id].config("bind")}})
		if err != nil {
			t.Fatal(err)
		}
		le := leaderelection.Config{Lock: client.For[*v1.Lease](tc.Admin, v1.NamespaceSystem), Name: "test-scheduler",
			Identity: id, LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond, ReleaseOnCancel: true}
		cctx, ccancel := context.WithCancel(ctx)
		stop[id] = ccancel
		leading[id] = make(chan struct{})
		started := leading[id]
		wg.Go(func() {
			leaderelection.Run(cctx, le, leaderelection.Callbacks{OnStartedLeading: func(ctx context.Context) {
				close(started)
				s.Run(ctx)
			}})
		})
	}
	var leader, other string
	select {
	case <-leading["a"]:
		leader, other = "a", "b"
	case <-leading["b"]:
		leader, other = "b", "a"
	case <-ctx.Done():
		t.Fatal("no scheduler became leader")
	}

	createPods := func(prefix string, n int) {
		for i := range n {
			p := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i), Namespace: "default"},
				Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Command: []string{"sleep", "1"}}}}}
			if _, err := client.For[*v1.Pod](tc.Admin, "default").Create(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitBoundBy := func(prefix string, n int, want string) {
		for i := range n {
			name := fmt.Sprintf("%s-%d", prefix, i)
			// The extender records a binding once its write has
			// returned, which may be after the pod shows it.
			testcluster.Eventually(t, 30*time.Second, name+" bound by the leader "+want, func() bool {
				p, err := client.For[*v1.Pod](tc.Admin, "default").Get(ctx, name)
				return err == nil && p.Spec.NodeName != "" && binders[want].bound(name)
			})
		}
	}
	createPods("first", 10)
	waitBoundBy("first", 10, leader)

	// The leader steps down (its control plane stops): the other takes
	// over and binds what comes next.
	stop[leader]()
	select {
	case <-leading[other]:
	case <-ctx.Done():
		t.Fatalf("scheduler %s did not take over", other)
	}
	createPods("second", 10)
	waitBoundBy("second", 10, other)
	// Each scheduler bound its ten pods, and no pod was bound by both. A
	// scheduler may call its binder twice for one pod (a call that timed
	// out on a loaded machine after its write landed is retried, and
	// refused as bound already): counted once.
	by := map[string]string{}
	for _, id := range []string{"a", "b"} {
		x := binders[id]
		x.mu.Lock()
		pods, binds := map[string]bool{}, fmt.Sprint(x.binds)
		for _, b := range x.binds {
			pod, _, _ := strings.Cut(b, "→")
			pods[pod] = true
			if other, ok := by[pod]; ok && other != id {
				t.Errorf("pod %s bound by both schedulers", pod)
			}
			by[pod] = id
		}
		x.mu.Unlock()
		if len(pods) != 10 {
			t.Fatalf("scheduler %s bound %d pods, want 10 each (%s)", id, len(pods), binds)
		}
	}
}
