package member_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/federation/member"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

const (
	fedName   = "galaxy"
	fedDomain = "example.org"
	wait      = 20 * time.Second
)

// env is two control planes: one plays the federation, one the member.
type env struct {
	t        *testing.T
	ctx      context.Context
	fed, mem *testcluster.Cluster
	// fedMetrics and memMetrics count each server's requests.
	fedMetrics, memMetrics *prometheus.Registry
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, fedMetrics: prometheus.NewRegistry(), memMetrics: prometheus.NewRegistry()}
	e.fed = testcluster.StartWith(t, func(c *apiserver.Config) { c.Metrics = e.fedMetrics })
	e.mem = testcluster.StartWith(t, func(c *apiserver.Config) { c.Metrics = e.memMetrics })
	for _, ns := range []string{v1.NamespaceFederation, v1.NamespaceClusterLeases} {
		e.create(e.fed.Admin, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: ns}})
	}
	e.create(e.fed.Admin, &v1.ConfigMap{
		ObjectMeta: v1.ObjectMeta{Name: v1.FederationInfoConfigMap, Namespace: v1.NamespaceSystem},
		Data:       map[string]string{v1.FederationInfoName: fedName, v1.FederationInfoDomain: fedDomain},
	})
	return e
}

// memberNamespace creates the Works' namespace of cluster, as the
// federation controller does when a Cluster appears.
func (e *env) memberNamespace(cluster string) {
	e.t.Helper()
	e.create(e.fed.Admin, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: v1.MemberNamespace(cluster)}})
}

// config is an agent Config with short intervals.
func (e *env) config(cluster string) member.Config {
	return member.Config{
		Federation: e.fed.Admin, Member: e.mem.Admin, Cluster: cluster,
		Labels: map[string]string{"tier": "gold"}, Region: "us-east", Zones: []string{"us-east-1a", "us-east-1b"},
		APIEndpoint:   "https://member.example.org:6443",
		RenewInterval: 100 * time.Millisecond, LeaseDuration: 2 * time.Second,
		StatusInterval: 100 * time.Millisecond, Resync: time.Hour,
		Logger: testcluster.FailureLog(e.t, 64<<10),
	}
}

// startAgent runs an agent; the returned function stops it and waits.
func (e *env) startAgent(cfg member.Config) (stop func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- member.Run(ctx, cfg) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("agent: %v", err)
			}
		case <-time.After(wait):
			e.t.Fatal("the agent did not stop")
		}
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) create(c *client.Client, obj v1.Object) v1.Object {
	e.t.Helper()
	out, err := e.res(c, obj).Create(e.ctx, obj)
	if err != nil {
		e.t.Fatalf("create %T %s: %v", obj, v1.ObjectKey(obj), err)
	}
	return out
}

func (e *env) res(c *client.Client, obj v1.Object) *client.Resource[v1.Object] {
	kind, ok := v1.KindOf(c.Registry(), obj)
	if !ok {
		e.t.Fatalf("%T is not a kind", obj)
	}
	return client.ForKind(c, kind, obj.GetObjectMeta().Namespace)
}

// get reads obj's kind and key from c; nil when it does not exist.
func get[T v1.Object](e *env, c *client.Client, ns, name string) T {
	e.t.Helper()
	obj, err := client.For[T](c, ns).Get(e.ctx, name)
	if v1.IsNotFound(err) {
		var zero T
		return zero
	}
	if err != nil {
		e.t.Fatalf("get %s/%s: %v", ns, name, err)
	}
	return obj
}

// putWork creates or updates the Work name of cluster applying obj.
func (e *env) putWork(cluster, name string, obj v1.Object) *v1.Work {
	e.t.Helper()
	kind, _ := v1.KindOf(e.fed.Admin.Registry(), obj)
	*obj.GetTypeMeta() = v1.TypeMeta{APIVersion: kind.APIVersion(), Kind: kind.Kind}
	manifest, err := json.Marshal(obj)
	if err != nil {
		e.t.Fatal(err)
	}
	m := obj.GetObjectMeta()
	works := client.For[*v1.Work](e.fed.Admin, v1.MemberNamespace(cluster))
	spec := v1.WorkSpec{Cluster: cluster, Manifest: manifest,
		Source: v1.ObjectReference{APIVersion: kind.APIVersion(), Kind: kind.Kind, Namespace: m.Namespace, Name: m.Name}}
	w, err := works.Get(e.ctx, name)
	switch {
	case v1.IsNotFound(err):
		w, err = works.Create(e.ctx, &v1.Work{ObjectMeta: v1.ObjectMeta{Name: name}, Spec: spec})
	case err == nil:
		w.Spec = spec
		w, err = works.Update(e.ctx, w)
	}
	if err != nil {
		e.t.Fatalf("put Work %s: %v", name, err)
	}
	return w
}

func (e *env) deleteWork(cluster, name string) {
	e.t.Helper()
	if _, err := client.For[*v1.Work](e.fed.Admin, v1.MemberNamespace(cluster)).Delete(e.ctx, name, client.DeleteOptions{}); err != nil {
		e.t.Fatalf("delete Work %s: %v", name, err)
	}
}

// workApplied waits for the Work to report its current generation
// applied, and returns it.
func (e *env) workApplied(cluster, name string) *v1.Work {
	e.t.Helper()
	var w *v1.Work
	testcluster.Eventually(e.t, wait, "Work "+name+" applied", func() bool {
		w = get[*v1.Work](e, e.fed.Admin, v1.MemberNamespace(cluster), name)
		c := condition(w, v1.WorkApplied)
		return w != nil && w.Status.AppliedGeneration == w.Generation && c.Status == v1.ConditionTrue && c.ObservedGeneration == w.Generation
	})
	return w
}

func condition(w *v1.Work, t string) v1.Condition {
	if w == nil {
		return v1.Condition{}
	}
	for _, c := range w.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return v1.Condition{}
}

func configMap(ns, name string, data map[string]string) *v1.ConfigMap {
	return &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}}, Data: data}
}

func petSet(ns, name string, replicas int32) *v1.PetSet {
	return &v1.PetSet{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns}, Spec: v1.PetSetSpec{
		Replicas: &replicas, ServiceName: name,
		Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": name}},
		Template: v1.PodTemplateSpec{ObjectMeta: v1.ObjectMeta{Labels: map[string]string{"app": name}},
			Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Command: []string{"sleep", "1000"},
				Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1000m")}}}}}},
	}}
}

func service(ns, name string) *v1.Service {
	return &v1.Service{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns}, Spec: v1.ServiceSpec{
		ClusterIP: v1.ClusterIPNone,
		Selector:  map[string]string{"app": name},
		Ports:     []v1.ServicePort{{Name: "db", Port: 5432}},
	}}
}

// ownedBy reports whether a member object carries the federation's label
// and the annotations of Work name at generation gen.
func ownedBy(obj v1.Object, cluster, name, gen string) bool {
	m := obj.GetObjectMeta()
	return m.Labels[v1.LabelFederation] == fedName &&
		m.Annotations[v1.AnnotationFederationWork] == v1.MemberNamespace(cluster)+"/"+name &&
		m.Annotations[v1.AnnotationWorkGeneration] == gen
}

// writes counts the write requests a server has served, by "verb
// resource", whatever their answer.
func (e *env) writes(reg *prometheus.Registry) map[string]float64 {
	e.t.Helper()
	families, err := reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "kennel_apiserver_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch labels["verb"] {
			case "create", "update", "patch", "delete":
				out[labels["verb"]+" "+labels["resource"]] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// since is what after counts more than before, without the resources
// in skip.
func since(before, after map[string]float64, skip ...string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d > 0 && !slices.ContainsFunc(skip, func(r string) bool { return strings.HasSuffix(k, " "+r) }) {
			out[k] = d
		}
	}
	return out
}
