package deployment

import (
	"errors"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

func TestExpectations(t *testing.T) {
	t.Parallel()
	fake := clock.NewFake(epoch)
	e := newExpectations(fake)
	const key = "default/web"
	if !e.satisfied(key) {
		t.Fatal("nothing expected, yet not satisfied")
	}
	e.expect(key, 2, []string{"default/a"})
	steps := []struct {
		name string
		do   func()
		want bool
	}{
		{"one creation seen", func() { e.creationObserved(key) }, false},
		{"both creations seen", func() { e.creationObserved(key) }, false},
		{"another pod's deletion", func() { e.deletionObserved(key, "default/b") }, false},
		{"the deletion seen", func() { e.deletionObserved(key, "default/a") }, true},
		{"seen twice", func() { e.deletionObserved(key, "default/a") }, true},
	}
	for _, s := range steps {
		s.do()
		if got := e.satisfied(key); got != s.want {
			t.Fatalf("after %s: satisfied = %v, want %v", s.name, got, s.want)
		}
	}

	e.expect(key, 1, nil)
	fake.Advance(expectationsTimeout)
	if e.satisfied(key) {
		t.Fatal("satisfied at the timeout, want only after it")
	}
	fake.Advance(time.Second)
	if !e.satisfied(key) {
		t.Fatal("not satisfied after the timeout")
	}
	e.expect(key, 1, nil)
	e.forget(key)
	if !e.satisfied(key) {
		t.Fatal("not satisfied after forget")
	}
}

// TestExpectationsPreventDoubleCreates syncs a deployment while the pod
// cache is as stale as it can be (its informer is not running yet): the
// pods the first sync created must not be created again.
func TestExpectationsPreventDoubleCreates(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := t.Context()
	dc, err := New(tc.Admin, nil, controller.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, dc.deployments.Run)
	h := &harness{t: t, ctx: ctx, tc: tc,
		deps: client.For[*v1.Deployment](tc.Admin, "default"), pods: client.For[*v1.Pod](tc.Admin, "default")}
	h.create(web("web", 3))
	const key = "default/web"
	h.eventually("the deployment in the cache", func() bool { _, ok := dc.deployments.Get(key); return ok })
	for range 3 {
		// Status writes may conflict with the stale cache; only the pods
		// matter here.
		_ = dc.sync(ctx, key)
	}
	if n := len(h.list("web")); n != 3 {
		t.Fatalf("%d pods after three syncs on a stale cache, want 3", n)
	}

	run(t, dc.pods.Run)
	h.eventually("the pods in the cache", func() bool { return dc.exp.satisfied(key) })
	var requeue controller.Requeue
	if err := dc.sync(ctx, key); err != nil && !errors.As(err, &requeue) && !v1.IsConflict(err) {
		t.Fatalf("sync: %v", err)
	}
	if n := len(h.list("web")); n != 3 {
		t.Fatalf("%d pods once the cache caught up, want 3", n)
	}
}
