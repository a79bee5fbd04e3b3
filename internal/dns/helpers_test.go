package dns

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// env is a control plane, an upstream resolver and, once started, a
// Kennel DNS server forwarding to it.
type env struct {
	ctx context.Context
	tc  *testcluster.Cluster
	up  *upstream
	srv *Server
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &env{ctx: ctx, tc: testcluster.Start(t), up: startUpstream(t)}
}

// start runs a DNS server on ports from the OS, forwarding to e.up.
func (e *env) start(t testing.TB, tune func(*Config)) *Server {
	t.Helper()
	cfg := Config{Client: e.tc.Admin, Addr: "127.0.0.1:0", Forward: []string{e.up.addr}}
	if tune != nil {
		tune(&cfg)
	}
	srv, err := Start(e.ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	e.srv = srv
	return srv
}

func (e *env) namespace(t testing.TB, name string) {
	t.Helper()
	ns := &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: name}}
	if _, err := client.For[*v1.Namespace](e.tc.Admin, "").Create(e.ctx, ns); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

func (e *env) service(t testing.TB, ns, name string, spec v1.ServiceSpec) *v1.Service {
	t.Helper()
	svc := &v1.Service{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
	out, err := client.For[*v1.Service](e.tc.Admin, ns).Create(e.ctx, svc)
	if err != nil {
		t.Fatalf("create service %s/%s: %v", ns, name, err)
	}
	return out
}

func (e *env) endpoints(t testing.TB, ns, name string, subsets ...v1.EndpointSubset) *v1.Endpoints {
	t.Helper()
	ep := &v1.Endpoints{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns}, Subsets: subsets}
	out, err := client.For[*v1.Endpoints](e.tc.Admin, ns).Create(e.ctx, ep)
	if err != nil {
		t.Fatalf("create endpoints %s/%s: %v", ns, name, err)
	}
	return out
}

// query sends one question to the server over proto ("udp" or "tcp"),
// with EDNS0 and that buffer size when edns > 0.
func query(t testing.TB, srv *Server, proto, name string, qtype uint16, edns uint16) *mdns.Msg {
	t.Helper()
	m, err := exchange(srv, proto, name, qtype, edns)
	if err != nil {
		t.Fatalf("%s %s %s: %v", proto, name, mdns.TypeToString[qtype], err)
	}
	return m
}

func exchange(srv *Server, proto, name string, qtype uint16, edns uint16) (*mdns.Msg, error) {
	addr := srv.UDPAddr().String()
	if proto == "tcp" {
		addr = srv.TCPAddr().String()
	}
	q := new(mdns.Msg).SetQuestion(name, qtype)
	if edns > 0 {
		q.SetEdns0(edns, false)
	}
	c := &mdns.Client{Net: proto, Timeout: 5 * time.Second}
	m, _, err := c.Exchange(q, addr)
	return m, err
}

// rrTexts renders records as "owner TYPE rdata" (no TTL or class),
// sorted, without OPT.
func rrTexts(rrs []mdns.RR) []string {
	out := []string{}
	for _, rr := range rrs {
		if rr.Header().Rrtype == mdns.TypeOPT {
			continue
		}
		f := strings.Split(rr.String(), "\t")
		out = append(out, f[0]+" "+strings.Join(f[3:], " "))
	}
	slices.Sort(out)
	return out
}

// upstream is a resolver for the tests: example.org has an A record,
// big.example.org a TXT too large for 512 bytes, every other name is
// NXDOMAIN. It records what it was asked.
type upstream struct {
	addr string
	mu   sync.Mutex
	seen []string // "name TYPE proto"
}

func startUpstream(t testing.TB) *upstream {
	t.Helper()
	pcs, ln, err := listen("127.0.0.1:0", 1)
	if err != nil {
		t.Fatalf("upstream: %v", err)
	}
	pc := pcs[0]
	u := &upstream{addr: pc.LocalAddr().String()}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	servers := []*mdns.Server{
		{PacketConn: pc, Handler: mdns.HandlerFunc(u.serve), NotifyStartedFunc: notify},
		{Listener: ln, Handler: mdns.HandlerFunc(u.serve), NotifyStartedFunc: notify},
	}
	for _, s := range servers {
		go s.ActivateAndServe() //nolint:errcheck // ends at Shutdown
		t.Cleanup(func() { s.Shutdown() })
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("upstream did not start")
		}
	}
	return u
}

func (u *upstream) serve(w mdns.ResponseWriter, r *mdns.Msg) {
	q := r.Question[0]
	proto := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		proto = "tcp"
	}
	u.mu.Lock()
	u.seen = append(u.seen, strings.ToLower(q.Name)+" "+mdns.TypeToString[q.Qtype]+" "+proto)
	u.mu.Unlock()
	m := new(mdns.Msg).SetReply(r)
	m.RecursionAvailable = true
	switch strings.ToLower(q.Name) {
	case "example.org.":
		if q.Qtype == mdns.TypeA {
			rr, _ := mdns.NewRR("example.org. 60 IN A 192.0.2.10")
			m.Answer = append(m.Answer, rr)
		}
	case "big.example.org.":
		if q.Qtype == mdns.TypeTXT {
			for i := range 40 {
				m.Answer = append(m.Answer, &mdns.TXT{
					Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 60},
					Txt: []string{strings.Repeat(string(rune('a'+i%26)), 40)},
				})
			}
		}
	default:
		m.Rcode = mdns.RcodeNameError
	}
	size := mdns.MaxMsgSize
	if proto == "udp" {
		size = mdns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
			m.SetEdns0(opt.UDPSize(), false)
		}
	}
	m.Truncate(size)
	w.WriteMsg(m) //nolint:errcheck // the test client times out instead
}

// asked reports whether the upstream was asked "name TYPE proto".
func (u *upstream) asked(what string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Contains(u.seen, what)
}

// askedUnder lists what the upstream was asked about names in zone.
func (u *upstream) askedUnder(zone string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, s := range u.seen {
		if inZone(strings.Fields(s)[0], zone) {
			out = append(out, s)
		}
	}
	return out
}
