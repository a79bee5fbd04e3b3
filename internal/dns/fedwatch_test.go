package dns

import (
	"testing"

	mdns "github.com/miekg/dns"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// TestFederatedMember checks, inside a member of zone us-b, the alias
// pg.db.acme.svc.cluster.local: to the local service while it has a
// ready endpoint, else to the member's federated zone name (chased);
// none when the cluster is not a member of acme.
func TestFederatedMember(t *testing.T) {
	e := newEnv(t)
	e.namespace(t, "db")
	e.federated(t, "db", "pg", pgShards())
	e.federated(t, "db", "idle", []v1.ServiceShard{{Cluster: "c2", Region: "us", Zone: "us-b"}})
	srv := e.start(t, nil)
	local := []string{pgAlias + " CNAME " + pgLocal, pgLocal + " A 10.9.0.1"}
	joined, left := memberSteps(t, e, local)
	for _, s := range joined {
		s.do()
		t.Logf("%s: visible after %v", s.what, waitAnswer(t, srv, s.name, mdns.TypeA, s.rcode, s.want))
	}
	checkMemberAnswers(t, srv, local)
	for _, s := range left {
		s.do()
		t.Logf("%s: visible after %v", s.what, waitAnswer(t, srv, s.name, mdns.TypeA, s.rcode, s.want))
	}
}

// memberSteps are the changes of TestFederatedMember: the cluster
// joins acme in zone us-b, the local pg gets, loses and regains a ready
// endpoint (joined leaves it ready, answering local); then the cluster
// leaves.
func memberSteps(t *testing.T, e *env, local []string) (joined, left []changeStep) {
	remote := []string{pgAlias + " CNAME " + pgFed + "us-b.us.fed.test.",
		pgFed + "us-b.us.fed.test. CNAME " + pgFed + "us.fed.test.", pgFed + "us.fed.test. A 10.1.0.1"}
	cms := client.For[*v1.ConfigMap](e.tc.Admin, v1.NamespaceSystem)
	eps := client.For[*v1.Endpoints](e.tc.Admin, "db")
	setReady := func(ready bool) func() {
		return func() {
			updateEndpoints(t, e, eps, "pg", func(ep *v1.Endpoints) {
				ss := &ep.Subsets[0]
				all := append(ss.Addresses, ss.NotReadyAddresses...)
				ss.Addresses, ss.NotReadyAddresses = nil, nil
				if ready {
					ss.Addresses = all
				} else {
					ss.NotReadyAddresses = all
				}
			})
		}
	}
	joined = []changeStep{
		{"not a member", func() {}, pgAlias, nx, nil},
		{"membership created", func() {
			cm := &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: v1.MembershipConfigMap, Namespace: v1.NamespaceSystem},
				Data: map[string]string{v1.MembershipFederation: "acme", v1.MembershipDomain: "fed.test",
					v1.MembershipCluster: "c2", v1.MembershipRegion: "us", v1.MembershipZone: "us-b"}}
			if _, err := cms.Create(e.ctx, cm); err != nil {
				t.Fatal(err)
			}
		}, pgAlias, ok, remote},
		{"local service without endpoints", func() {
			e.service(t, "db", "pg", v1.ServiceSpec{Ports: []v1.ServicePort{{Name: "pg", Port: 5432}}})
		}, pgLocal, ok, nil},
		{"local endpoint ready", func() {
			e.endpoints(t, "db", "pg", v1.EndpointSubset{Addresses: []v1.EndpointAddress{{IP: "10.9.0.1"}}})
		}, pgAlias, ok, local},
		{"local endpoint not ready", setReady(false), pgAlias, ok, remote},
		{"local endpoint ready again", setReady(true), pgAlias, ok, local},
	}
	left = []changeStep{
		{"member of another federation", func() { updateMembership(t, e, v1.MembershipFederation, "other") }, pgAlias, nx, nil},
		{"membership deleted", func() {
			if _, err := cms.Delete(e.ctx, v1.MembershipConfigMap, client.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, pgAlias, nx, nil},
	}
	return joined, left
}

// checkMemberAnswers checks the alias over TCP, its TTLs (the
// federation's for the alias, the zone's for the local records), and
// the alias of a service with no healthy shard and no local service.
func checkMemberAnswers(t *testing.T, srv *Server, local []string) {
	t.Helper()
	m := query(t, srv, "tcp", "PG.db.ACME.svc.cluster.local.", mdns.TypeA, 0)
	if got := rrTexts(m.Answer); m.Rcode != ok || !m.Authoritative || len(got) != 2 || got[0] != local[0] || got[1] != local[1] {
		t.Errorf("tcp: %s %v, want %v", mdns.RcodeToString[m.Rcode], got, local)
	}
	for _, rr := range m.Answer {
		want := uint32(5)
		if rr.Header().Rrtype == mdns.TypeCNAME {
			want = 30
		}
		if rr.Header().Ttl != want {
			t.Errorf("TTL of %v = %d, want %d", rr, rr.Header().Ttl, want)
		}
	}
	const idle = "idle.db.acme.svc.cluster.local."
	m = query(t, srv, "udp", idle, mdns.TypeA, 0)
	checkFederated(t, m, fedCase{idle, mdns.TypeA, ok, []string{
		idle + " CNAME " + idleFed + "us-b.us.fed.test.",
		idleFed + "us-b.us.fed.test. CNAME " + idleFed + "us.fed.test.",
		idleFed + "us.fed.test. CNAME " + idleFed + fedZone,
	}, fedSOA}, 30)
}

func updateMembership(t *testing.T, e *env, key, value string) {
	t.Helper()
	cms := client.For[*v1.ConfigMap](e.tc.Admin, v1.NamespaceSystem)
	cm, err := cms.Get(e.ctx, v1.MembershipConfigMap)
	if err != nil {
		t.Fatal(err)
	}
	cm.Data[key] = value
	if _, err := cms.Update(e.ctx, cm); err != nil {
		t.Fatal(err)
	}
}

// TestFederatedChangeVisible checks that federated names follow their
// FederatedEndpoints through the watch: a domain served from its first
// object to its last, a shard turning unhealthy and back, a pet moving.
func TestFederatedChangeVisible(t *testing.T) {
	e := newEnv(t)
	srv := e.start(t, nil)
	const usA = pgFed + "us-a.us.fed.test."
	fes := client.For[*v1.FederatedEndpoints](e.tc.Admin, v1.NamespaceFederation)
	deleteFederated := func(svc string) func() {
		return func() {
			if _, err := fes.Delete(e.ctx, v1.FederatedEndpointsName("db", svc), client.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []changeStep{
		{"not served before any object", func() {}, pgG, nx, nil},
		{"federated endpoints created", func() { e.federated(t, "db", "pg", pgShards()) }, usA, ok, []string{usA + " A 10.1.0.1"}},
		{"shard unhealthy", func() {
			e.updateFederated(t, "db", "pg", func(s *v1.FederatedEndpointsSpec) { s.Shards[0].Healthy = false })
		}, usA, ok, []string{usA + " CNAME " + pgFed + "us.fed.test.", pgFed + "us.fed.test. CNAME " + pgG, pgG + " A 10.2.0.1"}},
		{"pet moved", func() {
			e.updateFederated(t, "db", "pg", func(s *v1.FederatedEndpointsSpec) {
				s.Shards[0].Pets = nil
				s.Shards[2].Pets = append(s.Shards[2].Pets, v1.PetAddress{Hostname: "pg-0", IP: "10.2.0.9"})
			})
		}, "pg-0." + pgG, ok, []string{"pg-0." + pgG + " A 10.2.0.9"}},
		{"shard healthy again", func() {
			e.updateFederated(t, "db", "pg", func(s *v1.FederatedEndpointsSpec) { s.Shards[0].Healthy = true })
		}, usA, ok, []string{usA + " A 10.1.0.1"}},
		{"second service in the domain", func() {
			e.federated(t, "db", "idle", []v1.ServiceShard{{Cluster: "c1", Region: "us", Zone: "us-a"}})
		}, idleFed + fedZone, ok, nil},
		{"first one deleted", deleteFederated("pg"), pgG, nx, nil},
	}
	var forwarded int // what the upstream was asked before the domain was served
	for i, s := range steps {
		s.do()
		t.Logf("%s: visible after %v", s.what, waitAnswer(t, srv, s.name, mdns.TypeA, s.rcode, s.want))
		if i == 1 {
			forwarded = len(e.up.askedUnder(fedZone))
		}
	}
	if asked := e.up.askedUnder(fedZone); forwarded == 0 || len(asked) != forwarded {
		t.Errorf("the upstream was asked %v, want only what it was before the domain was served", asked)
	}
	// The domain is served while one object has names in it.
	checkFederated(t, query(t, srv, "udp", pgG, mdns.TypeA, 0), fedCase{pgG, mdns.TypeA, nx, nil, fedSOA}, 30)
	deleteFederated("idle")()
	testcluster.Eventually(t, visibleWithin, "fed.test forwarded again", func() bool {
		m, err := exchange(srv, "udp", idleFed+fedZone, mdns.TypeA, 0)
		return err == nil && m.Rcode == nx && !m.Authoritative && len(e.up.askedUnder(fedZone)) > forwarded
	})
}
