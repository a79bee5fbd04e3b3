package dns

import (
	"cmp"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	mdns "github.com/miekg/dns"
)

// maxUDPSize is the largest UDP reply sent, whatever a client offers, and
// the size advertised in the OPT record of replies.
const maxUDPSize = 4096

// maxChase bounds how many CNAMEs inside the zone one answer follows.
const maxChase = 8

// handler answers queries: from the index inside the zones it serves
// (the cluster zone and the federated domains) and for known reverse
// names, through the forwarder otherwise.
type handler struct {
	cluster servedZone
	zones   atomic.Pointer[zoneSet]
	ix      *index
	fwd     *forwarder
	log     *slog.Logger
	// rot rotates multi-address answers so that clients that take the
	// first address spread over endpoints (there is no virtual IP).
	rot  atomic.Uint32
	bufs sync.Pool // *[]byte of maxUDPSize
}

var _ mdns.Handler = (*handler)(nil)

func newHandler(zone string, ix *index, soa *mdns.SOA, fwd *forwarder, log *slog.Logger) *handler {
	h := &handler{cluster: servedZone{name: zone, soa: []mdns.RR{soa}}, ix: ix, fwd: fwd, log: log}
	h.setDomains(nil)
	h.bufs.New = func() any { b := make([]byte, maxUDPSize); return &b }
	return h
}

// ServeDNS implements mdns.Handler.
func (h *handler) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	if r.Opcode != mdns.OpcodeQuery {
		h.reply(w, r, new(mdns.Msg).SetRcode(r, mdns.RcodeNotImplemented), true)
		return
	}
	if len(r.Question) != 1 {
		h.reply(w, r, new(mdns.Msg).SetRcode(r, mdns.RcodeFormatError), true)
		return
	}
	if opt := r.IsEdns0(); opt != nil && opt.Version() != 0 {
		h.reply(w, r, new(mdns.Msg).SetRcode(r, mdns.RcodeBadVers), true)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	switch z := h.zones.Load().find(name); {
	case z != nil:
		h.reply(w, r, h.answerZone(r, name, q, z, isTCPWriter(w)), true)
	case isReverse(name):
		if ptr := h.ix.lookupPTR(name); ptr != nil && (q.Qtype == mdns.TypePTR || q.Qtype == mdns.TypeANY) {
			m := h.newReply(r)
			m.Answer = ptr
			h.reply(w, r, m, true)
			return
		}
		h.forward(w, r)
	default:
		h.forward(w, r)
	}
}

func (h *handler) newReply(r *mdns.Msg) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = h.fwd != nil
	return m
}

// answerZone answers a name of zone z from the index.
func (h *handler) answerZone(r *mdns.Msg, name string, q mdns.Question, z *servedZone, tcp bool) *mdns.Msg {
	m := h.newReply(r)
	if q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY {
		m.Authoritative = false
		m.Rcode = mdns.RcodeRefused
		return m
	}
	rs, ok := h.ix.lookup(name)
	if !ok {
		m.Rcode = mdns.RcodeNameError
		m.Ns = z.soa
		return m
	}
	if rs == nil { // an empty non-terminal
		m.Ns = z.soa
		return m
	}
	answer, extra := rs.records(q.Qtype)
	if len(answer) == 0 && len(rs.cname) > 0 && q.Qtype != mdns.TypeANY {
		m.Answer, m.Rcode, m.Ns = h.chase(rs.cname, q.Qtype, tcp, 0)
		return m
	}
	if len(answer) == 0 {
		m.Ns = z.soa
		return m
	}
	if len(answer) > 1 && (q.Qtype == mdns.TypeA || q.Qtype == mdns.TypeAAAA) {
		answer = rotate(answer, int(h.rot.Add(1)))
	}
	m.Answer, m.Extra = answer, extra
	return m
}

// chase follows a CNAME: inside a served zone through the index,
// outside by asking the upstream resolvers, as a recursive resolver
// would: stub resolvers (glibc's) expect the server to have followed it.
// It returns the CNAME followed by what its target answers, the rcode,
// and, when the chain ended in a served zone without an answer, that
// zone's SOA for the authority section.
func (h *handler) chase(cname []mdns.RR, qtype uint16, tcp bool, depth int) (rrs []mdns.RR, rcode int, soa []mdns.RR) {
	if qtype == mdns.TypeCNAME {
		return cname, mdns.RcodeSuccess, nil
	}
	target := cname[0].(*mdns.CNAME).Target
	out := append([]mdns.RR(nil), cname...)
	if z := h.zones.Load().find(target); z != nil {
		rs, ok := h.ix.lookup(target)
		if !ok {
			return out, mdns.RcodeNameError, z.soa
		}
		if rs == nil {
			return out, mdns.RcodeSuccess, z.soa
		}
		if answer, _ := rs.records(qtype); len(answer) > 0 {
			return append(out, answer...), mdns.RcodeSuccess, nil
		}
		if len(rs.cname) > 0 && depth < maxChase {
			more, rcode, soa := h.chase(rs.cname, qtype, tcp, depth+1)
			return append(out, more...), rcode, soa
		}
		return out, mdns.RcodeSuccess, z.soa
	}
	if h.fwd == nil {
		return out, mdns.RcodeSuccess, nil
	}
	q := new(mdns.Msg).SetQuestion(target, qtype)
	q.SetEdns0(maxUDPSize, false)
	reply, err := h.fwd.exchange(q, tcp)
	if err != nil || (reply.Rcode != mdns.RcodeSuccess && reply.Rcode != mdns.RcodeNameError) {
		h.log.Debug("cname target not resolved", "target", target, "err", err)
		return out, mdns.RcodeSuccess, nil
	}
	return append(out, reply.Answer...), reply.Rcode, nil
}

// forward answers a name outside the zone through the upstreams.
func (h *handler) forward(w mdns.ResponseWriter, r *mdns.Msg) {
	if h.fwd == nil {
		m := new(mdns.Msg).SetRcode(r, mdns.RcodeRefused)
		h.reply(w, r, m, true)
		return
	}
	id := r.Id
	// The upstream sees an ID of ours, not one a client chose.
	r.Id = mdns.Id()
	reply, err := h.fwd.exchange(r, isTCPWriter(w))
	r.Id = id
	if err != nil {
		h.log.Debug("forward failed", "name", r.Question[0].Name, "err", err)
		h.reply(w, r, new(mdns.Msg).SetRcode(r, mdns.RcodeServerFailure), true)
		return
	}
	reply.Id = id
	// The upstream answered the client's own EDNS0 (or lack of it).
	h.reply(w, r, reply, false)
}

// reply writes m: with an OPT record when the client sent one (and addOPT
// says m does not carry its own), truncated to what the client takes over
// UDP, compressed.
func (h *handler) reply(w mdns.ResponseWriter, r, m *mdns.Msg, addOPT bool) {
	udp := !isTCPWriter(w)
	size := mdns.MaxMsgSize
	if opt := r.IsEdns0(); opt != nil {
		if addOPT {
			// A fresh slice: m.Extra may be shared by other replies.
			m.Extra = append(m.Extra[:len(m.Extra):len(m.Extra)], newOPT())
		}
		if udp {
			size = min(max(int(opt.UDPSize()), mdns.MinMsgSize), maxUDPSize)
		}
	} else if udp {
		size = mdns.MinMsgSize
	}
	m.Compress = true
	m.Truncate(size)
	bp := h.bufs.Get().(*[]byte)
	defer h.bufs.Put(bp)
	b, err := m.PackBuffer(*bp)
	if err != nil {
		h.log.Warn("cannot pack reply", "rcode", m.Rcode, "answers", len(m.Answer), "err", err)
		b, _ = new(mdns.Msg).SetRcode(r, mdns.RcodeServerFailure).PackBuffer(*bp)
	}
	if _, err := w.Write(b); err != nil {
		h.log.Debug("cannot write reply", "err", err)
	}
}

func newOPT() *mdns.OPT {
	o := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
	o.SetUDPSize(maxUDPSize)
	return o
}

// rotate returns rrs starting at offset n, in a new slice.
func rotate(rrs []mdns.RR, n int) []mdns.RR {
	off := n % len(rrs)
	out := make([]mdns.RR, len(rrs))
	copy(out, rrs[off:])
	copy(out[len(rrs)-off:], rrs[:off])
	return out
}

// servedZone is a zone the server is authoritative for.
type servedZone struct {
	name string    // lowercase, fully qualified
	soa  []mdns.RR // the authority section of its negative answers
}

// zoneSet is the zones served, longest name first, so that the first
// that holds a name is the closest enclosing one. It is never changed
// once stored.
type zoneSet []servedZone

// find returns the zone that holds name (lowercase, fully qualified),
// nil if none does.
func (zs zoneSet) find(name string) *servedZone {
	for i := range zs {
		if inZone(name, zs[i].name) {
			return &zs[i]
		}
	}
	return nil
}

// setDomains makes the handler serve the federated domains as well as
// the cluster zone; a domain that is the cluster zone is left out.
func (h *handler) setDomains(domains []servedZone) {
	zs := make(zoneSet, 0, len(domains)+1)
	zs = append(zs, h.cluster)
	for _, d := range domains {
		if d.name != h.cluster.name {
			zs = append(zs, d)
		}
	}
	slices.SortStableFunc(zs, func(a, b servedZone) int { return cmp.Compare(len(b.name), len(a.name)) })
	h.zones.Store(&zs)
}

// inZone reports whether name (lowercase, fully qualified) is zone or
// below it.
func inZone(name, zone string) bool {
	if len(name) == len(zone) {
		return name == zone
	}
	return len(name) > len(zone) && name[len(name)-len(zone)-1] == '.' && strings.HasSuffix(name, zone)
}

func isReverse(name string) bool {
	return strings.HasSuffix(name, ".in-addr.arpa.") || strings.HasSuffix(name, ".ip6.arpa.")
}

func isTCPWriter(w mdns.ResponseWriter) bool {
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	return tcp
}
