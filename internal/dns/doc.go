// Package dns is Kennel's cluster DNS server: it answers the records of the
// Kubernetes DNS specification (schema 1.1.0, SPECS.md §2) for Services and
// Endpoints under one zone, the federated service names (SPECS.md §3) of
// every domain that FederatedEndpoints name, and forwards every other name
// to the host's resolvers.
//
// Records live in an in-memory index fed by watches: each Service or
// Endpoints event rebuilds that one service's records and swaps them in
// under a write lock, so a query is one map read under a read lock plus
// the packing of precomputed records. A change is visible to the next
// query after the watch event has been applied.
//
// Names the server answers for a service s in namespace n (zone z):
//
//	s.n.svc.z                A/AAAA  ready endpoints (a clusterIP a manifest sets is not answered),
//	                         CNAME   for an ExternalName service
//	h.s.n.svc.z              A/AAAA  the ready endpoint whose hostname is h; endpoints
//	                                 without a hostname get one from their IP (10-1-2-3)
//	_p._proto.s.n.svc.z      SRV     one per ready endpoint and named port
//	reverse of an endpoint IP PTR    h.s.n.svc.z.
//	dns-version.z            TXT     "1.1.0"
//	z                        SOA, NS
//
// Kennel has no virtual IPs, so a service that is not headless resolves to
// its ready endpoints too. Unlike a headless service, whose name answers
// NXDOMAIN when it has no ready endpoint, such a service's name still
// exists (NODATA), as it would in Kubernetes where it always has its IP.
//
// Ready means listed in an Endpoints subset's addresses: the endpoints
// controller puts not-ready pods there too when the service sets
// publishNotReadyAddresses. Names compare case-insensitively; a name with
// no record of the asked type answers NOERROR with no answer (NODATA), a
// name that does not exist NXDOMAIN, both with the zone's SOA in the
// authority section and the AA flag, which Go's resolver requires.
//
// Federated names (fedrecords.go, federation.go): the same server runs in
// a federation's control plane and in each member, where the federation
// agent mirrors the FederatedEndpoints into v1.NamespaceFederation, so a
// member answers them while the federation is unreachable. For service s,
// namespace n, federation f, domain d:
//
//	s.n.f.svc.z.r.d   A/AAAA  healthy shards in zone z of region r, else CNAME s.n.f.svc.r.d
//	s.n.f.svc.r.d     A/AAAA  healthy shards in region r, else CNAME s.n.f.svc.d
//	s.n.f.svc.d       A/AAAA  every healthy shard, else NODATA
//	p.s.n.f.svc.d     A/AAAA  pet p, from any shard that lists it
//	d                 SOA, NS
//
// The server is authoritative for d while some FederatedEndpoints has
// names in it. In a member (the ConfigMap v1.MembershipConfigMap names f
// and d), s.n.f.svc.<zone> is a CNAME to the local s.n.svc.<zone> while
// that has addresses, else to the member's own zone name in d. (That
// name is also the form of pet s of service n in a namespace named f:
// which of the two answers is not defined, so no namespace should be
// named after the federation.) CNAMEs inside the served zones are
// followed within the answer.
//
// Reverse names answer PTR only for IPs in the index; other reverse names
// and every name outside the served zones are forwarded to the upstream resolvers
// (by default the nameservers of /etc/resolv.conf). Without upstreams such
// queries are REFUSED.
package dns
