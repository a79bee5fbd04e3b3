package dns

import (
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// benchIndex is an index of n headless services of three pets each, and
// the names to look up.
func benchIndex(n int) (*index, []string) {
	const zone = "cluster.local."
	ix := newIndex()
	zr, _ := zoneRecords(zone, 5, 1, nil)
	ix.replace(zoneOwner, zr)
	var names []string
	for i := range n {
		svc := &v1.Service{ObjectMeta: v1.ObjectMeta{Name: fmt.Sprintf("s%d", i), Namespace: "ns"}, Spec: v1.ServiceSpec{ClusterIP: v1.ClusterIPNone}}
		ep := &v1.Endpoints{Subsets: []v1.EndpointSubset{{Ports: []v1.EndpointPort{{Name: "peer", Port: 7000}}}}}
		for p := range 3 {
			ep.Subsets[0].Addresses = append(ep.Subsets[0].Addresses,
				v1.EndpointAddress{IP: fmt.Sprintf("10.%d.%d.%d", i/250, i%250, p+1), Hostname: fmt.Sprintf("s%d-%d", i, p)})
		}
		ix.replace("ns/"+svc.Name, buildService(zone, 5, svc, ep))
		names = append(names, fmt.Sprintf("s%d.ns.svc.%s", i, zone), fmt.Sprintf("s%d-1.s%d.ns.svc.%s", i, i, zone))
	}
	return ix, names
}

// BenchmarkLookup is one index read: 1,000 services, 4,000 names.
func BenchmarkLookup(b *testing.B) {
	ix, names := benchIndex(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if rs, ok := ix.lookup(names[i%len(names)]); !ok || len(rs.a) == 0 {
			b.Fatal("name not found")
		}
	}
}

// BenchmarkHandlerA is the server's own work for one A query of a headless
// service of three pets — lookup, reply, EDNS0, packing — without the
// network, so its allocations are the server's.
func BenchmarkHandlerA(b *testing.B) {
	ix, _ := benchIndex(1000)
	_, soa := zoneRecords("cluster.local.", 5, 1, nil)
	h := newHandler("cluster.local.", ix, soa, nil, slog.New(slog.DiscardHandler))
	q := new(mdns.Msg).SetQuestion("s7.ns.svc.cluster.local.", mdns.TypeA)
	q.SetEdns0(1232, false)
	w := &discardWriter{addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(w, q)
	}
	if w.n == 0 {
		b.Fatal("no reply written")
	}
}

// BenchmarkServeA is end-to-end A queries over UDP on loopback from
// parallel clients, each with its own socket; qps is the server's rate.
func BenchmarkServeA(b *testing.B) {
	e := newEnv(b)
	e.namespace(b, "db")
	e.service(b, "db", "pg", v1.ServiceSpec{ClusterIP: v1.ClusterIPNone})
	e.endpoints(b, "db", "pg", v1.EndpointSubset{Addresses: []v1.EndpointAddress{
		{IP: "10.1.0.1", Hostname: "pg-0"}, {IP: "10.1.0.2", Hostname: "pg-1"}, {IP: "10.1.0.3", Hostname: "pg-2"}}})
	srv := e.start(b, nil)
	addr := srv.UDPAddr().String()
	b.SetParallelism(4) // 4 × GOMAXPROCS clients keep the server busy
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &mdns.Client{Net: "udp", Timeout: 2 * time.Second}
		conn, err := c.Dial(addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		q := new(mdns.Msg).SetQuestion("pg.db.svc.cluster.local.", mdns.TypeA)
		for pb.Next() {
			m, _, err := c.ExchangeWithConn(q, conn)
			if err != nil || len(m.Answer) != 3 {
				b.Errorf("answer %v, %v", m, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "qps")
}

// BenchmarkChangeVisible is the time from an Endpoints update to the
// first answer that shows it (ns/op, including the API write), and from
// the write's response to that answer (µs-after-write/op).
func BenchmarkChangeVisible(b *testing.B) {
	e := newEnv(b)
	e.namespace(b, "app")
	srv := e.start(b, nil)
	e.service(b, "app", "c", v1.ServiceSpec{ClusterIP: v1.ClusterIPNone})
	eps := client.For[*v1.Endpoints](e.tc.Admin, "app")
	ep := e.endpoints(b, "app", "c", v1.EndpointSubset{Addresses: []v1.EndpointAddress{{IP: "10.8.0.1"}}})
	const name = "c.app.svc.cluster.local."
	var afterWrite time.Duration
	for i := 0; b.Loop(); i++ {
		ip := fmt.Sprintf("10.8.%d.%d", i/250%250, i%250+1)
		ep.Subsets[0].Addresses[0].IP = ip
		var err error
		if ep, err = eps.Update(e.ctx, ep); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for {
			m, err := exchange(srv, "udp", name, mdns.TypeA, 0)
			if err == nil && len(m.Answer) == 1 && m.Answer[0].(*mdns.A).A.String() == ip {
				afterWrite += time.Since(start)
				break
			}
			if time.Since(start) > visibleWithin {
				b.Fatalf("%s not visible after %v", ip, visibleWithin)
			}
		}
	}
	b.ReportMetric(float64(afterWrite.Microseconds())/float64(b.N), "µs-after-write/op")
}

// BenchmarkFederatedChangeVisible is the time from a FederatedEndpoints
// update (a shard's health toggled) to the first answer of its zone name
// that shows it, measured from the write's response.
func BenchmarkFederatedChangeVisible(b *testing.B) {
	e := newEnv(b)
	srv := e.start(b, nil)
	e.federated(b, "db", "pg", pgShards())
	fes := client.For[*v1.FederatedEndpoints](e.tc.Admin, v1.NamespaceFederation)
	fe, err := fes.Get(e.ctx, v1.FederatedEndpointsName("db", "pg"))
	if err != nil {
		b.Fatal(err)
	}
	const usA = pgFed + "us-a.us.fed.test."
	var afterWrite time.Duration
	for b.Loop() {
		fe.Spec.Shards[0].Healthy = !fe.Spec.Shards[0].Healthy
		if fe, err = fes.Update(e.ctx, fe); err != nil {
			b.Fatal(err)
		}
		// Unhealthy, the zone name is a CNAME to its region's.
		wantCNAME := !fe.Spec.Shards[0].Healthy
		start := time.Now()
		for {
			m, err := exchange(srv, "udp", usA, mdns.TypeA, 0)
			if err == nil && len(m.Answer) > 0 && (m.Answer[0].Header().Rrtype == mdns.TypeCNAME) == wantCNAME {
				afterWrite += time.Since(start)
				break
			}
			if time.Since(start) > visibleWithin {
				b.Fatalf("health %v not visible after %v", !wantCNAME, visibleWithin)
			}
		}
	}
	b.ReportMetric(float64(afterWrite.Microseconds())/float64(b.N), "µs-after-write/op")
}

// discardWriter is a mdns.ResponseWriter that counts bytes written.
type discardWriter struct {
	n    int
	addr *net.UDPAddr
}

func (w *discardWriter) LocalAddr() net.Addr         { return w.addr }
func (w *discardWriter) RemoteAddr() net.Addr        { return w.addr }
func (w *discardWriter) WriteMsg(m *mdns.Msg) error  { b, err := m.Pack(); w.n += len(b); return err }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }
func (w *discardWriter) Close() error                { return nil }
func (w *discardWriter) TsigStatus() error           { return nil }
func (w *discardWriter) TsigTimersOnly(bool)         {}
func (w *discardWriter) Hijack()                     {}
