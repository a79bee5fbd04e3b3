package dns

import (
	"fmt"
	"slices"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// visibleWithin is the deadline for a change to reach answers; the
// design target is 100 ms (see BenchmarkChangeVisible for the number).
const visibleWithin = 2 * time.Second

// waitAnswer polls until name answers rcode with exactly want (rrTexts,
// sorted) and returns how long that took.
func waitAnswer(t *testing.T, srv *Server, name string, qtype uint16, rcode int, want []string) time.Duration {
	t.Helper()
	start := time.Now()
	var got []string
	var gotRcode int
	defer func() {
		if t.Failed() {
			t.Logf("last answer: %s %v", mdns.RcodeToString[gotRcode], got)
		}
	}()
	what := fmt.Sprintf("%s %s to answer %s %v", name, mdns.TypeToString[qtype], mdns.RcodeToString[rcode], want)
	testcluster.Eventually(t, visibleWithin, what, func() bool {
		m, err := exchange(srv, "udp", name, qtype, 0)
		if err != nil {
			return false
		}
		got, gotRcode = rrTexts(m.Answer), m.Rcode
		return gotRcode == rcode && slices.Equal(got, sorted(want))
	})
	return time.Since(start)
}

// TestChangeVisible checks that creating, updating and deleting Services
// and Endpoints reaches answers through the watch, within the deadline.
func TestChangeVisible(t *testing.T) {
	e := newEnv(t)
	srv := e.start(t, nil)
	e.namespace(t, "app")
	for _, s := range changeSteps(t, e) {
		s.do()
		took := waitAnswer(t, srv, s.name, mdns.TypeA, s.rcode, s.want)
		t.Logf("%s: visible after %v", s.what, took)
	}
}

// changeStep is a change through the API and the answer it leads to.
type changeStep struct {
	what  string
	do    func()
	name  string
	rcode int
	want  []string
}

func changeSteps(t *testing.T, e *env) []changeStep {
	const name = "cache.app.svc.cluster.local."
	const pet0 = "cache-0.cache.app.svc.cluster.local."
	a := func(ips ...string) []string {
		var out []string
		for _, ip := range ips {
			out = append(out, name+" A "+ip)
		}
		return out
	}
	eps := client.For[*v1.Endpoints](e.tc.Admin, "app")
	deleteService := func(name string) {
		if _, err := client.For[*v1.Service](e.tc.Admin, "app").Delete(e.ctx, name, client.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return []changeStep{
		// A service that is not headless exists (NODATA) without endpoints.
		{"service created", func() {
			e.service(t, "app", "front", v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "http", Port: 80}}})
		}, "front.app.svc.cluster.local.", mdns.RcodeSuccess, nil},
		{"headless service without endpoints", func() {
			e.service(t, "app", "cache", v1.ServiceSpec{ClusterIP: v1.ClusterIPNone})
		}, name, mdns.RcodeNameError, nil},
		{"endpoints created", func() {
			e.endpoints(t, "app", "cache", v1.EndpointSubset{Addresses: []v1.EndpointAddress{{IP: "10.7.0.1", Hostname: "cache-0"}}})
		}, name, mdns.RcodeSuccess, a("10.7.0.1")},
		{"endpoint added", func() {
			updateEndpoints(t, e, eps, "cache", func(ep *v1.Endpoints) {
				ep.Subsets[0].Addresses = append(ep.Subsets[0].Addresses, v1.EndpointAddress{IP: "10.7.0.2", Hostname: "cache-1"})
			})
		}, name, mdns.RcodeSuccess, a("10.7.0.1", "10.7.0.2")},
		{"endpoint not ready", func() {
			updateEndpoints(t, e, eps, "cache", func(ep *v1.Endpoints) {
				ss := &ep.Subsets[0]
				ss.NotReadyAddresses, ss.Addresses = ss.Addresses[:1], ss.Addresses[1:]
			})
		}, pet0, mdns.RcodeNameError, nil},
		{"endpoint moved", func() {
			updateEndpoints(t, e, eps, "cache", func(ep *v1.Endpoints) {
				ep.Subsets[0].Addresses = []v1.EndpointAddress{{IP: "10.7.0.9", Hostname: "cache-0"}, {IP: "10.7.0.2", Hostname: "cache-1"}}
				ep.Subsets[0].NotReadyAddresses = nil
			})
		}, pet0, mdns.RcodeSuccess, []string{pet0 + " A 10.7.0.9"}},
		{"service deleted", func() { deleteService("cache") }, name, mdns.RcodeNameError, nil},
		// The namespace's name stays while a service is left in it.
		{"one service left", func() {}, "app.svc.cluster.local.", mdns.RcodeSuccess, nil},
		{"last service deleted", func() { deleteService("front") }, "app.svc.cluster.local.", mdns.RcodeNameError, nil},
	}
}

func updateEndpoints(t *testing.T, e *env, eps *client.Resource[*v1.Endpoints], name string, change func(*v1.Endpoints)) {
	t.Helper()
	ep, err := eps.Get(e.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	change(ep)
	if _, err := eps.Update(e.ctx, ep); err != nil {
		t.Fatal(err)
	}
}
