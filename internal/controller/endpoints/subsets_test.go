package endpoints

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// fakePod is a pod of namespace default with an IP, Ready unless changed.
func fakePod(name, ip string, change ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + name, Labels: map[string]string{"app": "db"}},
		Spec:       v1.PodSpec{NodeName: "node-a", Containers: []v1.Container{{Name: "db", Image: "db:1"}}},
		Status: v1.PodStatus{Phase: v1.PodRunning, PodIP: ip,
			Conditions: []v1.PodCondition{{Type: v1.PodReady, Status: v1.ConditionTrue}}},
	}
	for _, f := range change {
		f(p)
	}
	return p
}

func notReady(p *v1.Pod) { p.Status.Conditions[0].Status = v1.ConditionFalse }

func withPorts(ports ...v1.ContainerPort) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Spec.Containers[0].Ports = ports }
}

// fakeService is the headless service db of namespace default selecting
// app=db on port pg (5432).
func fakeService(change ...func(*v1.Service)) *v1.Service {
	s := &v1.Service{
		ObjectMeta: v1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: v1.ServiceSpec{ClusterIP: v1.ClusterIPNone, Selector: map[string]string{"app": "db"},
			Ports: []v1.ServicePort{{Name: "pg", Port: 5432, Protocol: v1.ProtocolTCP, TargetPort: intstr.FromInt32(5432)}}},
	}
	for _, f := range change {
		f(s)
	}
	return s
}

// ips lists the IPs of addresses, in order.
func ips(as []v1.EndpointAddress) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.IP)
	}
	return out
}

type subsetWant struct {
	ready, notReady []string
	ports           []v1.EndpointPort
}

func flatten(subsets []v1.EndpointSubset) []subsetWant {
	var out []subsetWant
	for _, s := range subsets {
		out = append(out, subsetWant{ips(s.Addresses), ips(s.NotReadyAddresses), s.Ports})
	}
	return out
}

func TestSubsets(t *testing.T) {
	t.Parallel()
	pg := []v1.EndpointPort{{Name: "pg", Port: 5432, Protocol: v1.ProtocolTCP}}
	named := func(s *v1.Service) {
		s.Spec.Ports = []v1.ServicePort{
			{Name: "http", Port: 80, Protocol: v1.ProtocolTCP, TargetPort: intstr.FromString("http")},
			{Name: "admin", Port: 81, Protocol: v1.ProtocolTCP, TargetPort: intstr.FromInt32(9000)},
		}
	}
	for _, tc := range []struct {
		name string
		svc  *v1.Service
		pods []*v1.Pod
		want []subsetWant
	}{
		{"none", fakeService(), nil, nil},
		{"ready and not ready, sorted numerically", fakeService(), []*v1.Pod{
			fakePod("db-0", "10.0.0.10"), fakePod("db-1", "10.0.0.9"), fakePod("db-2", "10.0.0.3", notReady),
		}, []subsetWant{{[]string{"10.0.0.9", "10.0.0.10"}, []string{"10.0.0.3"}, pg}}},
		{"publishNotReadyAddresses", fakeService(func(s *v1.Service) { s.Spec.PublishNotReadyAddresses = true }), []*v1.Pod{
			fakePod("db-0", "10.0.0.2", notReady), fakePod("db-1", "10.0.0.1"),
		}, []subsetWant{{[]string{"10.0.0.1", "10.0.0.2"}, nil, pg}}},
		{"no IP yet", fakeService(), []*v1.Pod{fakePod("db-0", "")}, nil},
		{"terminal", fakeService(), []*v1.Pod{
			fakePod("db-0", "10.0.0.1", func(p *v1.Pod) { p.Status.Phase = v1.PodFailed }),
			fakePod("db-1", "10.0.0.2", func(p *v1.Pod) { p.Status.Phase = v1.PodSucceeded }),
		}, nil},
		{"terminating", fakeService(), []*v1.Pod{
			fakePod("db-0", "10.0.0.1", func(p *v1.Pod) { p.DeletionTimestamp = v1.Now() }),
		}, nil},
		{"terminating, publishNotReadyAddresses", fakeService(func(s *v1.Service) { s.Spec.PublishNotReadyAddresses = true }),
			[]*v1.Pod{fakePod("db-0", "10.0.0.1", func(p *v1.Pod) { p.DeletionTimestamp = v1.Now() })},
			[]subsetWant{{[]string{"10.0.0.1"}, nil, pg}}},
		{"named port resolved per pod", fakeService(named), []*v1.Pod{
			fakePod("web-a", "10.0.0.1", withPorts(v1.ContainerPort{Name: "http", ContainerPort: 8080})),
			fakePod("web-b", "10.0.0.2", withPorts(v1.ContainerPort{Name: "http", ContainerPort: 9090})),
			fakePod("web-c", "10.0.0.3", withPorts(v1.ContainerPort{Name: "metrics", ContainerPort: 8080})),
			fakePod("web-d", "10.0.0.4", withPorts(v1.ContainerPort{Name: "http", ContainerPort: 8080, Protocol: v1.ProtocolUDP})),
		}, []subsetWant{
			{[]string{"10.0.0.3", "10.0.0.4"}, nil, []v1.EndpointPort{{Name: "admin", Port: 9000, Protocol: v1.ProtocolTCP}}},
			{[]string{"10.0.0.1"}, nil, []v1.EndpointPort{{Name: "http", Port: 8080, Protocol: v1.ProtocolTCP}, {Name: "admin", Port: 9000, Protocol: v1.ProtocolTCP}}},
			{[]string{"10.0.0.2"}, nil, []v1.EndpointPort{{Name: "http", Port: 9090, Protocol: v1.ProtocolTCP}, {Name: "admin", Port: 9000, Protocol: v1.ProtocolTCP}}},
		}},
		{"named port nowhere", fakeService(func(s *v1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("pg") }),
			[]*v1.Pod{fakePod("db-0", "10.0.0.1")}, nil},
		{"unset targetPort is the port", fakeService(func(s *v1.Service) { s.Spec.Ports[0].TargetPort = intstr.IntOrString{} }),
			[]*v1.Pod{fakePod("db-0", "10.0.0.1")}, []subsetWant{{[]string{"10.0.0.1"}, nil, pg}}},
		{"headless without ports", fakeService(func(s *v1.Service) { s.Spec.Ports = nil }),
			[]*v1.Pod{fakePod("db-0", "10.0.0.1")}, []subsetWant{{[]string{"10.0.0.1"}, nil, nil}}},
		{"not headless without ports", fakeService(func(s *v1.Service) { s.Spec.Ports, s.Spec.ClusterIP = nil, "" }),
			[]*v1.Pod{fakePod("db-0", "10.0.0.1")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := subsets(tc.svc, tc.pods)
			if g := flatten(got); !reflect.DeepEqual(g, tc.want) {
				t.Errorf("subsets = %+v\nwant      %+v", g, tc.want)
			}
			// Input order must not matter.
			rev := make([]*v1.Pod, len(tc.pods))
			for i, p := range tc.pods {
				rev[len(rev)-1-i] = p
			}
			if again := subsets(tc.svc, rev); !reflect.DeepEqual(again, got) {
				t.Errorf("pods in reverse order give %+v, want %+v", again, got)
			}
		})
	}
}

func TestAddress(t *testing.T) {
	t.Parallel()
	named := func(hostname, subdomain, ns string) *v1.Pod {
		return fakePod("db-0", "10.0.0.1", func(p *v1.Pod) {
			p.Spec.Hostname, p.Spec.Subdomain, p.Namespace = hostname, subdomain, ns
		})
	}
	for _, tc := range []struct {
		name         string
		pod          *v1.Pod
		wantHostname string
	}{
		{"subdomain is the service", named("db-0", "db", "default"), "db-0"},
		{"subdomain is another service", named("db-0", "cache", "default"), ""},
		{"no subdomain", named("db-0", "", "default"), ""},
		{"no hostname", named("", "db", "default"), ""},
		{"other namespace", named("db-0", "db", "other"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := address(fakeService(), tc.pod)
			if a.Hostname != tc.wantHostname {
				t.Errorf("hostname %q, want %q", a.Hostname, tc.wantHostname)
			}
			ref := v1.ObjectReference{Kind: "Pod", Namespace: tc.pod.Namespace, Name: "db-0", UID: "uid-db-0"}
			if a.IP != "10.0.0.1" || a.NodeName == nil || *a.NodeName != "node-a" || a.TargetRef == nil || *a.TargetRef != ref {
				t.Errorf("address %+v (node %v, ref %+v), want IP, node and pod reference", a, a.NodeName, a.TargetRef)
			}
		})
	}
}

func TestEndpointsLabels(t *testing.T) {
	t.Parallel()
	svc := fakeService(func(s *v1.Service) { s.Labels = map[string]string{"app": "db", LabelHeadless: "x"} })
	want := map[string]string{"app": "db", LabelHeadless: "", LabelManagedBy: ManagedBy}
	if got := endpointsLabels(svc); !reflect.DeepEqual(got, want) {
		t.Errorf("headless: labels %v, want %v", got, want)
	}
	svc.Spec.ClusterIP = ""
	want = map[string]string{"app": "db", LabelManagedBy: ManagedBy}
	if got := endpointsLabels(svc); !reflect.DeepEqual(got, want) {
		t.Errorf("not headless: labels %v, want %v", got, want)
	}
	if svc.Labels[LabelHeadless] != "x" {
		t.Errorf("the service's labels were changed: %v", svc.Labels)
	}
}

func TestManagedAndSelects(t *testing.T) {
	t.Parallel()
	labels := map[string]string{"app": "db", "tier": "data"}
	for _, tc := range []struct {
		name             string
		svc              *v1.Service
		managed, selects bool
	}{
		{"selector", fakeService(), true, true},
		{"selector not matching", fakeService(func(s *v1.Service) { s.Spec.Selector["tier"] = "web" }), true, false},
		{"no selector", fakeService(func(s *v1.Service) { s.Spec.Selector = nil }), false, false},
		{"empty selector", fakeService(func(s *v1.Service) { s.Spec.Selector = map[string]string{} }), false, false},
		{"ExternalName", fakeService(func(s *v1.Service) { s.Spec.Type = v1.ServiceTypeExternalName }), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := managed(tc.svc); got != tc.managed {
				t.Errorf("managed = %v, want %v", got, tc.managed)
			}
			if got := selects(tc.svc, labels); got != tc.selects {
				t.Errorf("selects = %v, want %v", got, tc.selects)
			}
		})
	}
}
