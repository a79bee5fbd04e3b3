package dns

import (
	"log/slog"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// localServiceIndex indexes FederatedEndpoints by the key ("ns/name") of
// the service they federate, so that a change to the local service
// republishes its member alias.
const localServiceIndex = "localService"

// federation is what the server knows of federated services (SPECS.md
// §3): the FederatedEndpoints in v1.NamespaceFederation, written there
// by a federation or mirrored by a member's federation agent, and the
// member's membership ConfigMap. Its maps are guarded by
// Server.buildMu.
type federation struct {
	fes *client.Informer[*v1.FederatedEndpoints]
	cms *client.Informer[*v1.ConfigMap]
	// domains are the federated domains served, by name.
	domains map[string]*fedDomain
	// domainOf is the domain each FederatedEndpoints' names were
	// published in, by key.
	domainOf map[string]string
}

// fedDomain is a federated domain the server is authoritative for while
// some FederatedEndpoints has names in it.
type fedDomain struct {
	users int
	soa   []mdns.RR
}

func newFederation(c *client.Client, log *slog.Logger) federation {
	fes := client.NewInformer(client.For[*v1.FederatedEndpoints](c, v1.NamespaceFederation), client.ListOptions{}, log)
	fes.AddIndexer(localServiceIndex, func(fe *v1.FederatedEndpoints) []string {
		return []string{fe.Spec.Namespace + "/" + fe.Spec.Service}
	})
	cms := client.NewInformer(client.For[*v1.ConfigMap](c, v1.NamespaceSystem),
		client.ListOptions{FieldSelector: "metadata.name=" + v1.MembershipConfigMap}, log)
	return federation{fes: fes, cms: cms, domains: map[string]*fedDomain{}, domainOf: map[string]string{}}
}

// onFederated republishes the names of the FederatedEndpoints an event
// is about.
func (s *Server) onFederated(obj any) {
	o, ok := obj.(v1.Object)
	if !ok {
		return
	}
	key := v1.ObjectKey(o)
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	fe, _ := s.fed.fes.Get(key)
	s.publishFederated(key, fe)
	s.publishMember(key, fe)
}

// onMembership republishes every member alias: the membership ConfigMap
// changed.
func (s *Server) onMembership(any) {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	for _, fe := range s.fed.fes.List() {
		s.publishMember(v1.ObjectKey(fe), fe)
	}
}

// republishMembers republishes the member aliases of local service key
// ("ns/name"), whose records just changed. buildMu is held.
func (s *Server) republishMembers(key string) {
	for _, fe := range s.fed.fes.ByIndex(localServiceIndex, key) {
		s.publishMember(v1.ObjectKey(fe), fe)
	}
}

// publishFederated publishes the names of fe (nil: removes them) in its
// domain, serving the domain while it has names. buildMu is held.
func (s *Server) publishFederated(key string, fe *v1.FederatedEndpoints) {
	var domain string
	var rec *svcRecords
	if fe != nil {
		domain, rec = buildFederated(&fe.Spec, s.fedTTL)
		switch {
		case rec == nil:
			s.log.Warn("federated endpoints make no valid name: not served", "federatedEndpoints", key)
		case domain == s.cfg.Zone:
			s.log.Warn("federated domain is the cluster zone: not served", "federatedEndpoints", key, "domain", domain)
			domain, rec = "", nil
		}
	}
	// The new domain is served before its names are published and the
	// old one released after, so that no name is ever forwarded.
	if domain != "" {
		s.acquireDomain(domain)
	}
	s.ix.replace(federatedOwner(key), rec)
	if old := s.fed.domainOf[key]; old != "" {
		s.releaseDomain(old)
	}
	if domain == "" {
		delete(s.fed.domainOf, key)
	} else {
		s.fed.domainOf[key] = domain
	}
}

// acquireDomain counts one more user of domain d, serving it from the
// first.
func (s *Server) acquireDomain(d string) {
	if fd := s.fed.domains[d]; fd != nil {
		fd.users++
		return
	}
	rec, soa := newBuilder(d, s.fedTTL).apex(uint32(time.Now().Unix()), s.nsAddrs())
	s.ix.replace(domainOwner(d), rec)
	s.fed.domains[d] = &fedDomain{users: 1, soa: []mdns.RR{soa}}
	s.setDomains()
	s.log.Info("serving federated domain", "domain", d)
}

// releaseDomain counts one user of domain d less, forwarding it again
// after the last.
func (s *Server) releaseDomain(d string) {
	fd := s.fed.domains[d]
	if fd == nil {
		return
	}
	if fd.users--; fd.users > 0 {
		return
	}
	delete(s.fed.domains, d)
	s.setDomains()
	s.ix.replace(domainOwner(d), nil)
	s.log.Info("no longer serving federated domain", "domain", d)
}

func (s *Server) setDomains() {
	zs := make([]servedZone, 0, len(s.fed.domains))
	for d, fd := range s.fed.domains {
		zs = append(zs, servedZone{name: d, soa: fd.soa})
	}
	s.h.setDomains(zs)
}

// publishMember publishes, in a member, the alias of fe's service in
// the cluster zone (nil fe: removes it). buildMu is held.
func (s *Server) publishMember(key string, fe *v1.FederatedEndpoints) {
	s.ix.replace(memberOwner(key), s.memberRecords(fe))
}

// memberRecords is s.n.f.svc.<zone> for a member of fe's federation: a
// CNAME to the local s.n.svc.<zone> while it has addresses, to the
// member's federated zone name otherwise. Nil outside a member.
func (s *Server) memberRecords(fe *v1.FederatedEndpoints) *svcRecords {
	if fe == nil {
		return nil
	}
	cm, _ := s.fed.cms.Get(v1.NamespaceSystem + "/" + v1.MembershipConfigMap)
	m, ok := membershipOf(cm)
	if !ok {
		return nil
	}
	n, ok := namesOf(&fe.Spec)
	if !ok || !m.serves(&fe.Spec, n) {
		return nil
	}
	zone := s.cfg.Zone
	alias := n.prefix + zone
	local := strings.ToLower(fe.Spec.Service+"."+fe.Spec.Namespace) + ".svc." + zone
	target := m.remote(n)
	if rs, _ := s.ix.lookup(local); rs != nil && len(rs.a)+len(rs.aaaa) > 0 {
		target = local
	}
	return buildMember(zone, s.fedTTL, alias, target)
}
