package endpoints

import (
	"fmt"
	"reflect"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

var pg = []v1.EndpointPort{{Name: "pg", Port: 5432, Protocol: v1.ProtocolTCP}}

// TestReadinessAndAddresses covers the ready/not-ready split,
// publishNotReadyAddresses, the hostname rule and the shape of each
// address, and that an unrelated change writes nothing.
func TestReadinessAndAddresses(t *testing.T) {
	h := start(t)
	h.createService(service("db", "db", "pg:5432"))
	all := service("db-all", "db", "pg:5432")
	all.Spec.PublishNotReadyAddresses = true
	h.createService(all)

	db0, db1 := pod("db-0", "db"), pod("db-1", "db")
	db0.Spec.Hostname, db0.Spec.Subdomain = "db-0", "db"
	db1.Spec.Hostname, db1.Spec.Subdomain = "db-1", "other"
	p0 := h.createPod(db0, "10.0.0.2", true)
	p1 := h.createPod(db1, "10.0.0.1", false)
	if _, err := h.pods.Create(h.ctx, pod("db-2", "db")); err != nil { // no IP yet: not listed
		t.Fatal(err)
	}

	e := h.waitSubsets("db", subsetWant{[]string{"10.0.0.2"}, []string{"10.0.0.1"}, pg})
	want0 := v1.EndpointAddress{IP: "10.0.0.2", Hostname: "db-0", NodeName: ptr("node-a"),
		TargetRef: &v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "db-0", UID: p0.UID}}
	if got := e.Subsets[0].Addresses[0]; !reflect.DeepEqual(got, want0) {
		t.Errorf("ready address %+v (ref %+v), want %+v (ref %+v)", got, got.TargetRef, want0, want0.TargetRef)
	}
	if got := e.Subsets[0].NotReadyAddresses[0]; got.Hostname != "" || got.TargetRef == nil || got.TargetRef.UID != p1.UID {
		t.Errorf("not-ready address %+v: want no hostname (subdomain is another service) and db-1's UID", got)
	}
	if e.Labels[LabelManagedBy] != ManagedBy || e.Labels[LabelHeadless] != "" {
		t.Errorf("labels %v, want %s=%s and %s", e.Labels, LabelManagedBy, ManagedBy, LabelHeadless)
	}
	if _, ok := e.Labels[LabelHeadless]; !ok {
		t.Errorf("labels %v lack %s", e.Labels, LabelHeadless)
	}

	ea := h.waitSubsets("db-all", subsetWant{[]string{"10.0.0.1", "10.0.0.2"}, nil, pg})
	for _, a := range ea.Subsets[0].Addresses {
		if a.Hostname != "" {
			t.Errorf("db-all address %s has hostname %q, but no pod's subdomain is db-all", a.IP, a.Hostname)
		}
	}

	t.Run("readiness moves addresses", func(t *testing.T) {
		h.setStatus("db-1", func(s *v1.PodStatus) { setReady(s, true) })
		h.waitSubsets("db", subsetWant{[]string{"10.0.0.1", "10.0.0.2"}, nil, pg})
		h.setStatus("db-0", func(s *v1.PodStatus) { setReady(s, false) })
		h.waitSubsets("db", subsetWant{[]string{"10.0.0.1"}, []string{"10.0.0.2"}, pg})
		h.waitSubsets("db-all", subsetWant{[]string{"10.0.0.1", "10.0.0.2"}, nil, pg})
	})

	t.Run("no write when nothing changed", func(t *testing.T) {
		e := h.waitSubsets("db", subsetWant{[]string{"10.0.0.1"}, []string{"10.0.0.2"}, pg})
		p := h.changePod("db-0", func(p *v1.Pod) { p.Annotations = map[string]string{"note": "unrelated"} })
		writes := h.endpointWrites()
		h.syncWhen("default/db", "the annotated pod", h.podCached("db-0", p.ResourceVersion))
		p = h.changePod("db-1", func(p *v1.Pod) { p.Labels["tier"] = "backend" })
		h.syncWhen("default/db", "the relabelled pod", h.podCached("db-1", p.ResourceVersion))
		if got := h.endpointWrites(); got != writes {
			t.Errorf("%v writes of endpoints though nothing they show changed", got-writes)
		}
		if now := h.waitSubsets("db", subsetWant{[]string{"10.0.0.1"}, []string{"10.0.0.2"}, pg}); now.ResourceVersion != e.ResourceVersion {
			t.Errorf("endpoints resourceVersion %s → %s though nothing they show changed", e.ResourceVersion, now.ResourceVersion)
		}
	})
}

// TestNamedTargetPorts resolves a named targetPort on each pod: pods that
// name the port differently go to different subsets, and a pod without the
// name keeps only the other ports.
func TestNamedTargetPorts(t *testing.T) {
	h := start(t)
	h.createService(service("web", "web", "http:http", "admin:9000"))
	h.createPod(pod("web-a", "web", v1.ContainerPort{Name: "http", ContainerPort: 8080}), "10.0.1.1", true)
	h.createPod(pod("web-b", "web", v1.ContainerPort{Name: "http", ContainerPort: 9090}), "10.0.1.2", true)
	h.createPod(pod("web-c", "web", v1.ContainerPort{Name: "metrics", ContainerPort: 8080}), "10.0.1.3", false)

	http := func(n int32) v1.EndpointPort { return v1.EndpointPort{Name: "http", Port: n, Protocol: v1.ProtocolTCP} }
	admin := v1.EndpointPort{Name: "admin", Port: 9000, Protocol: v1.ProtocolTCP}
	h.waitSubsets("web",
		subsetWant{nil, []string{"10.0.1.3"}, []v1.EndpointPort{admin}},
		subsetWant{[]string{"10.0.1.1"}, nil, []v1.EndpointPort{http(8080), admin}},
		subsetWant{[]string{"10.0.1.2"}, nil, []v1.EndpointPort{http(9090), admin}},
	)
}

// TestTerminatingAndTerminalPods drops failed pods everywhere and
// terminating pods except where not-ready addresses are published.
func TestTerminatingAndTerminalPods(t *testing.T) {
	h := start(t)
	h.createService(service("db", "db", "pg:5432"))
	all := service("db-all", "db", "pg:5432")
	all.Spec.PublishNotReadyAddresses = true
	h.createService(all)
	for i, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		h.createPod(pod(fmt.Sprintf("db-%d", i), "db"), ip, true)
	}
	three := subsetWant{[]string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, nil, pg}
	h.waitSubsets("db", three)
	h.waitSubsets("db-all", three)

	// Failed for good, though its last Ready condition says True.
	h.setStatus("db-1", func(s *v1.PodStatus) { s.Phase = v1.PodFailed })
	// Bound to a node, a deleted pod stays, terminating, until its agent
	// has stopped it; no agent runs here.
	if _, err := h.pods.Delete(h.ctx, "db-2", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if p, err := h.pods.Get(h.ctx, "db-2"); err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("pod db-2 after delete: %+v, %v; want it terminating", p, err)
	}
	h.waitSubsets("db", subsetWant{[]string{"10.0.0.1"}, nil, pg})
	h.waitSubsets("db-all", subsetWant{[]string{"10.0.0.1", "10.0.0.3"}, nil, pg})
}

// TestSelectorChangesAndDeletion follows a service's selector and a pod's
// labels both ways, and deletes the Endpoints when the selector or the
// service goes.
func TestSelectorChangesAndDeletion(t *testing.T) {
	h := start(t)
	h.createService(service("db", "a", "pg:5432"))
	h.createPod(pod("a-0", "a"), "10.0.0.1", true)
	h.createPod(pod("b-0", "b"), "10.0.0.2", true)
	h.waitSubsets("db", subsetWant{[]string{"10.0.0.1"}, nil, pg})

	h.updateService("db", func(s *v1.Service) { s.Spec.Selector = map[string]string{"app": "b"} })
	h.waitSubsets("db", subsetWant{[]string{"10.0.0.2"}, nil, pg})

	h.changePod("a-0", func(p *v1.Pod) { p.Labels["app"] = "b" })
	h.waitSubsets("db", subsetWant{[]string{"10.0.0.1", "10.0.0.2"}, nil, pg})
	// Only the pod's old labels tie it to the service now.
	h.changePod("a-0", func(p *v1.Pod) { p.Labels["app"] = "c" })
	h.waitSubsets("db", subsetWant{[]string{"10.0.0.2"}, nil, pg})

	h.updateService("db", func(s *v1.Service) { s.Spec.Selector = nil })
	h.waitGone("db")
	h.updateService("db", func(s *v1.Service) { s.Spec.Selector = map[string]string{"app": "b"} })
	h.waitSubsets("db", subsetWant{[]string{"10.0.0.2"}, nil, pg})

	if _, err := h.svcs.Delete(h.ctx, "db", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitGone("db")
}

// TestUserEndpoints leaves alone the Endpoints of services without a
// selector, writes none for ExternalName services, deletes Endpoints with
// their service, and deletes leftovers when it starts.
func TestUserEndpoints(t *testing.T) {
	h := start(t)
	manual := h.createService(service("manual", "", "pg:5432"))
	if manual.Spec.Selector != nil {
		t.Fatalf("selector %v, want none", manual.Spec.Selector)
	}
	ext := h.createService(&v1.Service{ObjectMeta: v1.ObjectMeta{Name: "mirror"},
		Spec: v1.ServiceSpec{Type: v1.ServiceTypeExternalName, ExternalName: "db.example.com"}})
	mine := &v1.Endpoints{ObjectMeta: v1.ObjectMeta{Name: "manual"}, Subsets: []v1.EndpointSubset{{
		Addresses: []v1.EndpointAddress{{IP: "192.0.2.10"}}, Ports: []v1.EndpointPort{{Name: "pg", Port: 5432}}}}}
	mine, err := h.eps.Create(h.ctx, mine)
	if err != nil {
		t.Fatal(err)
	}
	writes := h.endpointWrites()
	h.syncWhen("default/manual", "service and endpoints manual", func() bool {
		e, ok := h.ec.endpoints.Get("default/manual")
		return ok && e.ResourceVersion == mine.ResourceVersion && h.serviceCached("manual", manual.ResourceVersion)()
	})
	h.syncWhen("default/mirror", "service mirror", h.serviceCached("mirror", ext.ResourceVersion))
	if got := h.endpointWrites(); got != writes {
		t.Errorf("%v writes of endpoints for services without a selector", got-writes)
	}
	if _, err := h.eps.Get(h.ctx, "mirror"); !v1.IsNotFound(err) {
		t.Errorf("endpoints of an ExternalName service: %v, want NotFound", err)
	}

	if _, err := h.svcs.Delete(h.ctx, "manual", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitGone("manual")

	// Endpoints whose service is gone are not noticed when written (a
	// user may write them first) but are deleted when a controller starts.
	left := &v1.Endpoints{ObjectMeta: v1.ObjectMeta{Name: "left", Labels: map[string]string{LabelManagedBy: ManagedBy}}}
	if _, err := h.eps.Create(h.ctx, left); err != nil {
		t.Fatal(err)
	}
	h.runController()
	h.waitGone("left")
}
