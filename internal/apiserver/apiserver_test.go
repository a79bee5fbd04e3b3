package apiserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func configMap(name string, labels map[string]string) *v1.ConfigMap {
	return &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: name, Labels: labels}, Data: map[string]string{"k": "v"}}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	if _, err := cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: "counter"}, Data: map[string]string{"n": "0"}}); err != nil {
		t.Fatal(err)
	}
	const writers = 50
	var wg sync.WaitGroup
	var conflicts sync.Map
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for attempt := 0; ; attempt++ {
				cm, err := cms.Get(ctx, "counter")
				if err != nil {
					errs <- err
					return
				}
				n, _ := strconv.Atoi(cm.Data["n"])
				cm.Data["n"] = strconv.Itoa(n + 1)
				_, err = cms.Update(ctx, cm)
				if v1.IsConflict(err) {
					conflicts.Store(w, attempt+1)
					continue
				}
				if err != nil {
					errs <- err
				}
				return
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	cm, err := cms.Get(ctx, "counter")
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["n"] != strconv.Itoa(writers) {
		t.Fatalf("counter = %s after %d increments: an update was lost", cm.Data["n"], writers)
	}
}

func TestStaleUpdateConflicts(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	cm, err := cms.Create(ctx, configMap("a", nil))
	if err != nil {
		t.Fatal(err)
	}
	stale := v1.Clone(cm)
	cm.Data["k"] = "2"
	if _, err := cms.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	stale.Data["k"] = "3"
	_, err = cms.Update(ctx, stale)
	var apiErr *v1.Error
	if !errors.As(err, &apiErr) || apiErr.Status.Code != 409 {
		t.Fatalf("stale update: %v, want 409 Conflict", err)
	}
}

func TestWatchResumesExactlyOnce(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	list, err := cms.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, client.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	write := func(i int) {
		name := fmt.Sprintf("cm-%02d", i)
		if _, err := cms.Create(ctx, configMap(name, nil)); err != nil {
			t.Fatal(err)
		}
		want = append(want, "ADDED "+name)
	}
	for i := 0; i < 10; i++ {
		write(i)
	}
	var got []string
	var last string
	for len(got) < 4 {
		ev := <-w.Events()
		got = append(got, string(ev.Type)+" "+ev.Object.Name)
		last = ev.Object.ResourceVersion
	}
	w.Stop() // the watch is cut
	for i := 10; i < 15; i++ {
		write(i)
	}
	if _, err := cms.Delete(ctx, "cm-00", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "DELETED cm-00")
	w, err = cms.Watch(ctx, client.ListOptions{ResourceVersion: last})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for len(got) < len(want) {
		select {
		case ev := <-w.Events():
			got = append(got, string(ev.Type)+" "+ev.Object.Name)
		case <-ctx.Done():
			t.Fatalf("timed out; got %v", got)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events after resume:\n got %v\nwant %v", got, want)
	}
	select {
	case ev := <-w.Events():
		t.Fatalf("extra event %s %s", ev.Type, ev.Object.Name)
	default:
	}
}

func TestWatchFromCompactedRevisionIsGone(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	first, err := cms.Create(ctx, configMap("a", nil))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := cms.Create(ctx, configMap(fmt.Sprintf("b%d", i), nil)); err != nil {
			t.Fatal(err)
		}
	}
	rev, _ := tc.Store.CurrentRevision(ctx)
	if err := tc.Store.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, client.ListOptions{ResourceVersion: first.ResourceVersion})
	if err == nil {
		ev := <-w.Events()
		err = ev.Err
	}
	if !v1.IsGone(err) {
		t.Fatalf("watch from compacted revision: %v, want 410 Gone", err)
	}
}

func TestInformerRecoversFromGone(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	inf := client.NewInformer(cms, client.ListOptions{LabelSelector: "app=x"}, nil)
	inf.WatchTimeout = time.Second
	var mu sync.Mutex
	seen := map[string]string{} // name → last event
	inf.AddHandler(client.HandlerFuncs{
		AddFunc:    func(o any) { mu.Lock(); seen[o.(*v1.ConfigMap).Name] = "add"; mu.Unlock() },
		UpdateFunc: func(_, o any) { mu.Lock(); seen[o.(*v1.ConfigMap).Name] = "update"; mu.Unlock() },
		DeleteFunc: func(o any) { mu.Lock(); seen[o.(*v1.ConfigMap).Name] = "delete"; mu.Unlock() },
	})
	go inf.Run(ctx)
	if _, err := cms.Create(ctx, configMap("a", map[string]string{"app": "x"})); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 10*time.Second, "informer to see a", func() bool { _, ok := inf.Get("default/a"); return ok })
	// Changes the informer does not see (filtered out) advance the store
	// past its resourceVersion, beyond what the API server's watch cache
	// keeps; compaction then makes that version gone in etcd too.
	for i := 0; i < 400; i++ {
		cms.Create(ctx, configMap(fmt.Sprintf("other%d", i), nil))
	}
	rev, _ := tc.Store.CurrentRevision(ctx)
	if err := tc.Store.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 20*time.Second, "informer to relist after 410", func() bool { return inf.Relists() >= 2 })
	if _, err := cms.Delete(ctx, "a", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, configMap("c", map[string]string{"app": "x"})); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, 20*time.Second, "informer to converge", func() bool {
		mu.Lock()
		defer mu.Unlock()
		_, hasA := inf.Get("default/a")
		_, hasC := inf.Get("default/c")
		return !hasA && hasC && seen["a"] == "delete" && seen["c"] == "add"
	})
}

func TestStatusSubresourceAndGeneration(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	nss := client.For[*v1.Namespace](tc.Admin, "")
	ns, err := nss.Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: "team"}, Status: v1.NamespaceStatus{Phase: "Active"}})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Generation != 1 || ns.UID == "" || ns.CreationTimestamp == nil {
		t.Fatalf("server did not fill metadata: %+v", ns.ObjectMeta)
	}
	// A main-resource update cannot change the status.
	ns.Status.Phase = "Terminating"
	ns.Labels = map[string]string{"a": "b"}
	ns, err = nss.Update(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if ns.Status.Phase != "Active" || ns.Labels["a"] != "b" || ns.Generation != 1 {
		t.Fatalf("after update: phase %q labels %v generation %d", ns.Status.Phase, ns.Labels, ns.Generation)
	}
	// A status update changes only the status.
	ns.Status.Phase = "Terminating"
	ns.Labels = nil
	ns, err = nss.UpdateStatus(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if ns.Status.Phase != "Terminating" || ns.Labels["a"] != "b" {
		t.Fatalf("after status update: phase %q labels %v", ns.Status.Phase, ns.Labels)
	}
	// A spec change bumps the generation.
	ns.Spec.Finalizers = []string{"kubernetes"}
	ns, err = nss.Update(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if ns.Generation != 2 {
		t.Fatalf("generation after spec change = %d, want 2", ns.Generation)
	}
	// An update that changes nothing does not write.
	again, err := nss.Update(ctx, ns)
	if err != nil || again.ResourceVersion != ns.ResourceVersion {
		t.Fatalf("no-op update wrote: %v → %v (%v)", ns.ResourceVersion, again.ResourceVersion, err)
	}
}

func TestGenerateNamePaginationAndSelectors(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	for i := 0; i < 12; i++ {
		cm := configMap("", map[string]string{"parity": strconv.Itoa(i % 2)})
		cm.GenerateName = "gen-"
		got, err := cms.Create(ctx, cm)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Name) != len("gen-")+5 {
			t.Fatalf("generated name %q", got.Name)
		}
	}
	page, err := cms.List(ctx, client.ListOptions{Limit: 5})
	if err != nil || len(page.Items) != 5 || page.Continue == "" {
		t.Fatalf("first page: %d items, continue %q, %v", len(page.Items), page.Continue, err)
	}
	all, err := cms.ListAll(ctx, client.ListOptions{Limit: 5})
	if err != nil || len(all.Items) != 12 {
		t.Fatalf("all pages: %d items, %v", len(all.Items), err)
	}
	odd, err := cms.ListAll(ctx, client.ListOptions{LabelSelector: "parity=1", Limit: 4})
	if err != nil || len(odd.Items) != 6 {
		t.Fatalf("selector: %d items, %v", len(odd.Items), err)
	}
	pods := client.For[*v1.Pod](tc.Admin, "")
	if _, err := pods.List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=n1"}); err != nil {
		t.Fatalf("pods by spec.nodeName: %v", err)
	}
	if _, err := cms.List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=n1"}); err == nil {
		t.Fatal("field selector spec.nodeName accepted for configmaps")
	}
}

func TestGracefulDeleteWithFinalizer(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	cm := configMap("held", nil)
	cm.Finalizers = []string{"example.com/hold"}
	if _, err := cms.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	deleted, err := cms.Delete(ctx, "held", client.DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if deleted.DeletionTimestamp == nil {
		t.Fatal("delete of an object with a finalizer did not set deletionTimestamp")
	}
	cur, err := cms.Get(ctx, "held")
	if err != nil {
		t.Fatalf("object with finalizer is gone early: %v", err)
	}
	cur.Finalizers = append(cur.Finalizers, "example.com/another")
	if _, err := cms.Update(ctx, cur); !v1.IsInvalid(err) {
		t.Fatalf("adding a finalizer during deletion: %v, want Invalid", err)
	}
	cur.Finalizers = nil
	if _, err := cms.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "held"); !v1.IsNotFound(err) {
		t.Fatalf("after last finalizer removed: %v, want NotFound", err)
	}
}

func TestDeletePreconditions(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	if _, err := cms.Create(ctx, configMap("p", nil)); err != nil {
		t.Fatal(err)
	}
	wrong := "not-the-uid"
	if _, err := cms.Delete(ctx, "p", client.DeleteOptions{Preconditions: &client.Preconditions{UID: &wrong}}); !v1.IsConflict(err) {
		t.Fatalf("delete with wrong uid: %v, want Conflict", err)
	}
	if _, err := cms.Get(ctx, "p"); err != nil {
		t.Fatalf("object deleted despite failed precondition: %v", err)
	}
}

func TestBuiltinNamespaces(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	nss := client.For[*v1.Namespace](tc.Admin, "")
	for _, n := range []string{"default", "kennel-system", "kennel-node-lease"} {
		if _, err := nss.Get(ctx, n); err != nil {
			t.Errorf("namespace %s: %v", n, err)
		}
	}
	if _, err := nss.Delete(ctx, "default", client.DeleteOptions{}); !v1.IsForbidden(err) {
		t.Fatalf("deleting default: %v, want Forbidden", err)
	}
	if _, err := client.For[*v1.ConfigMap](tc.Admin, "nope").Create(ctx, configMap("x", nil)); !v1.IsNotFound(err) {
		t.Fatalf("create in missing namespace: %v, want NotFound", err)
	}
}

func TestPatchMergesConcurrently(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	if _, err := cms.Create(ctx, configMap("m", nil)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			p, _ := json.Marshal(map[string]any{"data": map[string]string{fmt.Sprintf("k%d", i): "v"}})
			if _, err := cms.Patch(ctx, "m", p); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	cm, _ := cms.Get(ctx, "m")
	if len(cm.Data) != 21 {
		t.Fatalf("after 20 concurrent patches: %d keys, want 21", len(cm.Data))
	}
}

// Leaving out a defaulted field is no change: no write, no new generation.
func TestUpdateWithoutDefaultedFieldsIsNoop(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	svcs := client.For[*v1.Service](tc.Admin, "default")
	bare := func() *v1.Service {
		return &v1.Service{ObjectMeta: v1.ObjectMeta{Name: "db"}, Spec: v1.ServiceSpec{
			ClusterIP: "None", Selector: map[string]string{"app": "db"}, Ports: []v1.ServicePort{{Name: "client", Port: 6379}}}}
	}
	created, err := svcs.Create(ctx, bare())
	if err != nil {
		t.Fatal(err)
	}
	again := bare()
	again.ResourceVersion = created.ResourceVersion
	got, err := svcs.Update(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != created.ResourceVersion || got.Generation != 1 {
		t.Fatalf("re-sending the same spec without defaults wrote: rv %s → %s, generation %d", created.ResourceVersion, got.ResourceVersion, got.Generation)
	}
}
