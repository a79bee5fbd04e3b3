package controller_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	fed "github.com/kennel-dev/kennel/internal/federation/controller"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// env is a federation API with its controllers running.
type env struct {
	t   *testing.T
	tc  *testcluster.Cluster
	c   *client.Client
	ctx context.Context
}

func start(t *testing.T, grace time.Duration) *env {
	t.Helper()
	return startWith(t, func(c *fed.Config) { c.ClusterGracePeriod = grace })
}

func startWith(t *testing.T, tune func(*fed.Config)) *env {
	t.Helper()
	tc := testcluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, tc: tc, c: tc.Admin, ctx: ctx}
	for _, ns := range []string{v1.NamespaceFederation, v1.NamespaceClusterLeases} {
		if _, err := client.For[*v1.Namespace](e.c, "").Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fed.Config{Client: e.c, Federation: "fed", Domain: "example.com", AutomaticFailover: true, Logger: testcluster.FailureLog(t, 64<<10)}
	tune(&cfg)
	fc, err := fed.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fc.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return e
}

// addCluster registers a member and renews its lease once.
func (e *env) addCluster(name, region, zone string, labels map[string]string) {
	e.t.Helper()
	cl := &v1.Cluster{ObjectMeta: v1.ObjectMeta{Name: name, Labels: labels}, Spec: v1.ClusterSpec{Region: region, Zones: []string{zone}}}
	if _, err := client.For[*v1.Cluster](e.c, "").Create(e.ctx, cl); err != nil {
		e.t.Fatal(err)
	}
	e.renew(name)
	e.eventually("cluster "+name+" Ready", func() bool {
		cl, err := client.For[*v1.Cluster](e.c, "").Get(e.ctx, name)
		return err == nil && ready(cl.Status.Conditions, v1.ClusterReady)
	})
}

func (e *env) renew(name string) {
	e.t.Helper()
	leases := client.For[*v1.Lease](e.c, v1.NamespaceClusterLeases)
	now := v1.MicroTime{Time: time.Now()}
	l, err := leases.Get(e.ctx, name)
	if v1.IsNotFound(err) {
		_, err = leases.Create(e.ctx, &v1.Lease{ObjectMeta: v1.ObjectMeta{Name: name}, Spec: v1.LeaseSpec{HolderIdentity: &name, RenewTime: &now}})
	} else if err == nil {
		l.Spec.RenewTime = &now
		_, err = leases.Update(e.ctx, l)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

func ready(conds []v1.Condition, t string) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func condition(conds []v1.Condition, t string) v1.Condition {
	for _, c := range conds {
		if c.Type == t {
			return c
		}
	}
	return v1.Condition{}
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	testcluster.Eventually(e.t, 30*time.Second, what, cond)
}

// work is the Work of a federated object in a member, nil if none.
func (e *env) work(cluster, ns, kind, name string) *v1.Work {
	w, err := client.For[*v1.Work](e.c, v1.MemberNamespace(cluster)).Get(e.ctx, ns+"."+kind+"."+name)
	if err != nil {
		return nil
	}
	return w
}

// petSetShare is what a PetSet Work gives its member.
type petSetShare struct {
	replicas, start int32
}

func share(w *v1.Work) petSetShare {
	var m v1.PetSet
	if err := json.Unmarshal(w.Spec.Manifest, &m); err != nil {
		return petSetShare{-1, -1}
	}
	return petSetShare{m.DesiredReplicas(), m.StartOrdinal()}
}

// report plays the member: it reports the PetSet of a Work as applied,
// with replicas pods of which ready are Ready.
func (e *env) report(w *v1.Work, replicas, ready int32) {
	e.t.Helper()
	st, _ := json.Marshal(v1.PetSetStatus{Replicas: replicas, ReadyReplicas: ready, AvailableReplicas: ready, CurrentReplicas: replicas})
	w = v1.Clone(w)
	w.Status.AppliedGeneration = w.Generation
	w.Status.ResourceStatus = st
	w.Status.Conditions = []v1.Condition{{Type: v1.WorkApplied, Status: v1.ConditionTrue, Reason: "Applied"}}
	if _, err := client.For[*v1.Work](e.c, w.Namespace).UpdateStatus(e.ctx, w); err != nil {
		e.t.Fatal(err)
	}
}

func petSet(name string, replicas int32) *v1.PetSet {
	return &v1.PetSet{ObjectMeta: v1.ObjectMeta{Name: name}, Spec: v1.PetSetSpec{
		Replicas: &replicas, ServiceName: name,
		Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": name}},
		Template: v1.PodTemplateSpec{ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": name}},
			Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Command: []string{"sleep", "1000"}}}}},
	}}
}

func (e *env) create(obj v1.Object, kind string) {
	e.t.Helper()
	k, _ := e.c.Registry().ByKind(kind)
	if _, err := client.ForKind(e.c, k, "default").Create(e.ctx, obj); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) placement(name string) *v1.Placement {
	p, err := client.For[*v1.Placement](e.c, "default").Get(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func gdpr(v string) map[string]string { return map[string]string{"compliance": v} }
