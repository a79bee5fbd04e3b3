package endpoints

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// wait is how long a test waits for the controller to converge.
const wait = 30 * time.Second

// harness is a real control plane running the Endpoints controller. There
// is no scheduler nor agent: tests bind pods at creation and write their
// status (IP, phase, Ready) as the admin.
type harness struct {
	t   *testing.T
	ctx context.Context
	tc  *testcluster.Cluster
	ec  *Controller
	// metrics are the API server's, to count writes.
	metrics *prometheus.Registry
	svcs    *client.Resource[*v1.Service]
	pods    *client.Resource[*v1.Pod]
	eps     *client.Resource[*v1.Endpoints]
}

// start runs a cluster and one Endpoints controller.
func start(t *testing.T) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	tc := testcluster.StartWith(t, func(cfg *apiserver.Config) { cfg.Metrics = reg })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx, tc: tc, metrics: reg,
		svcs: client.For[*v1.Service](tc.Admin, "default"),
		pods: client.For[*v1.Pod](tc.Admin, "default"),
		eps:  client.For[*v1.Endpoints](tc.Admin, "default")}
	h.ec = h.runController()
	return h
}

// runController runs an Endpoints controller until the test ends.
func (h *harness) runController() *Controller {
	h.t.Helper()
	ec, err := New(h.tc.Admin, slog.New(slog.DiscardHandler), controller.Options{Workers: 2})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ec.Run(ctx); close(done) }()
	h.t.Cleanup(func() { stop(); <-done })
	return ec
}

// service is a headless service selecting app=app (nothing when app is
// empty) with one port per "name:targetPort" (a number or a container port
// name) given.
func service(name, app string, ports ...string) *v1.Service {
	s := &v1.Service{ObjectMeta: v1.ObjectMeta{Name: name}, Spec: v1.ServiceSpec{ClusterIP: v1.ClusterIPNone}}
	if app != "" {
		s.Spec.Selector = map[string]string{"app": app}
	}
	for i, p := range ports {
		name, target, _ := strings.Cut(p, ":")
		s.Spec.Ports = append(s.Spec.Ports, v1.ServicePort{Name: name, Port: int32(8000 + i), TargetPort: intstr.Parse(target)})
	}
	return s
}

func (h *harness) createService(s *v1.Service) *v1.Service {
	h.t.Helper()
	got, err := h.svcs.Create(h.ctx, s)
	if err != nil {
		h.t.Fatalf("create service %s: %v", s.Name, err)
	}
	return got
}

// updateService changes a service, retrying on conflicts.
func (h *harness) updateService(name string, change func(*v1.Service)) {
	h.t.Helper()
	for {
		s, err := h.svcs.Get(h.ctx, name)
		if err != nil {
			h.t.Fatalf("get service %s: %v", name, err)
		}
		change(s)
		if _, err = h.svcs.Update(h.ctx, s); err == nil {
			return
		}
		if !v1.IsConflict(err) {
			h.t.Fatalf("update service %s: %v", name, err)
		}
	}
}

// pod is a pod labelled app=app, bound to node-a, with the container
// ports given.
func pod(name, app string, ports ...v1.ContainerPort) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: name, Labels: map[string]string{"app": app}},
		Spec: v1.PodSpec{NodeName: "node-a",
			Containers: []v1.Container{{Name: "main", Image: "main:1", Ports: ports}}},
	}
}

// createPod creates p and plays its agent: it gets ip and is Ready or not.
func (h *harness) createPod(p *v1.Pod, ip string, ready bool) *v1.Pod {
	h.t.Helper()
	got, err := h.pods.Create(h.ctx, p)
	if err != nil {
		h.t.Fatalf("create pod %s: %v", p.Name, err)
	}
	return h.setStatus(got.Name, func(s *v1.PodStatus) {
		s.Phase, s.PodIP = v1.PodRunning, ip
		setReady(s, ready)
	})
}

func setReady(s *v1.PodStatus, ready bool) {
	status := v1.ConditionFalse
	if ready {
		status = v1.ConditionTrue
	}
	v1.SetPodCondition(s, v1.PodCondition{Type: v1.PodReady, Status: status})
}

// setStatus changes a pod's status, retrying on conflicts.
func (h *harness) setStatus(name string, change func(*v1.PodStatus)) *v1.Pod {
	h.t.Helper()
	return h.updatePod(name, func(p *v1.Pod) { change(&p.Status) }, h.pods.UpdateStatus)
}

// changePod changes a pod's metadata or spec, retrying on conflicts.
func (h *harness) changePod(name string, change func(*v1.Pod)) *v1.Pod {
	h.t.Helper()
	return h.updatePod(name, change, h.pods.Update)
}

func (h *harness) updatePod(name string, change func(*v1.Pod), write func(context.Context, *v1.Pod) (*v1.Pod, error)) *v1.Pod {
	h.t.Helper()
	for {
		p, err := h.pods.Get(h.ctx, name)
		if err != nil {
			h.t.Fatalf("get pod %s: %v", name, err)
		}
		change(p)
		got, err := write(h.ctx, p)
		if err == nil {
			return got
		}
		if !v1.IsConflict(err) {
			h.t.Fatalf("update pod %s: %v", name, err)
		}
	}
}

// waitEndpoints waits until the Endpoints name exist and satisfy cond.
func (h *harness) waitEndpoints(name, what string, cond func(*v1.Endpoints) bool) *v1.Endpoints {
	h.t.Helper()
	var e *v1.Endpoints
	testcluster.Eventually(h.t, wait, what, func() bool {
		var err error
		e, err = h.eps.Get(h.ctx, name)
		if err != nil && !v1.IsNotFound(err) {
			h.t.Fatalf("get endpoints %s: %v", name, err)
		}
		return err == nil && cond(e)
	})
	return e
}

// waitSubsets waits until the Endpoints name have exactly want (IPs and
// ports of each subset, in order).
func (h *harness) waitSubsets(name string, want ...subsetWant) *v1.Endpoints {
	h.t.Helper()
	return h.waitEndpoints(name, fmt.Sprintf("endpoints %s = %+v", name, want), func(e *v1.Endpoints) bool {
		return reflect.DeepEqual(flatten(e.Subsets), want)
	})
}

// waitGone waits until the Endpoints name do not exist.
func (h *harness) waitGone(name string) {
	h.t.Helper()
	testcluster.Eventually(h.t, wait, "endpoints "+name+" deleted", func() bool {
		_, err := h.eps.Get(h.ctx, name)
		if err != nil && !v1.IsNotFound(err) {
			h.t.Fatalf("get endpoints %s: %v", name, err)
		}
		return v1.IsNotFound(err)
	})
}

// syncWhen runs one sync of key in the test's goroutine once cached
// reports that the controller's caches show what the test just wrote, so
// that the sync provably saw it.
func (h *harness) syncWhen(key, what string, cached func() bool) {
	h.t.Helper()
	testcluster.Eventually(h.t, wait, what+" in the controller's cache", cached)
	if err := h.ec.sync(h.ctx, key); err != nil {
		h.t.Fatalf("sync %s: %v", key, err)
	}
}

// podCached reports whether the controller's cache has pod name at rv.
func (h *harness) podCached(name, rv string) func() bool {
	return func() bool {
		p, ok := h.ec.pods.Get("default/" + name)
		return ok && p.ResourceVersion == rv
	}
}

// serviceCached reports whether the controller's cache has service name at
// rv.
func (h *harness) serviceCached(name, rv string) func() bool {
	return func() bool {
		s, ok := h.ec.services.Get("default/" + name)
		return ok && s.ResourceVersion == rv
	}
}

// endpointWrites counts the successful writes of Endpoints the API server
// has served (a no-op update included: it is still a request a correct
// controller does not make).
func (h *harness) endpointWrites() float64 {
	h.t.Helper()
	families, err := h.metrics.Gather()
	if err != nil {
		h.t.Fatalf("gather API server metrics: %v", err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "kennel_apiserver_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["resource"] == "endpoints" && strings.HasPrefix(l["code"], "2") &&
				(l["verb"] == "create" || l["verb"] == "update" || l["verb"] == "patch" || l["verb"] == "delete") {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func ptr[T any](v T) *T { return &v }
