package bench

import (
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// TestNullDNS: the no-work responder answers a query with its question
// and no records, authoritative, keeping the ID and the RD bit; it
// ignores a message that is a response; Stop ends it.
func TestNullDNS(t *testing.T) {
	n, err := StartNullDNS()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	c := &mdns.Client{Timeout: 5 * time.Second}
	q := new(mdns.Msg).SetQuestion("pet-0.db.default.svc.cluster.local.", mdns.TypeSRV)
	r, _, err := c.Exchange(q, n.Addr().String())
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if r.Id != q.Id || !r.Response || !r.Authoritative || !r.RecursionDesired || r.Rcode != mdns.RcodeSuccess {
		t.Errorf("reply header %+v, want the query's ID, QR, AA, RD and NOERROR", r.MsgHdr)
	}
	if len(r.Question) != 1 || r.Question[0] != q.Question[0] || len(r.Answer)+len(r.Ns)+len(r.Extra) != 0 {
		t.Errorf("reply %v, want the question alone", r)
	}

	resp := new(mdns.Msg).SetQuestion("x.", mdns.TypeA)
	resp.Response = true
	c.Timeout = 300 * time.Millisecond
	if _, _, err := c.Exchange(resp, n.Addr().String()); err == nil {
		t.Error("a response was answered")
	}
	n.Stop()
	n.Stop() // idempotent
}

func TestNullReplyRejectsMalformed(t *testing.T) {
	for name, msg := range map[string][]byte{
		"short":         {0, 1, 0},
		"two questions": {0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1},
		"cut name":      {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'a'},
		"no type":       {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
		"pointer":       {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1},
		"response (QR)": {0, 1, 0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1},
	} {
		if n := nullReply(msg); n != 0 {
			t.Errorf("%s: answered (%d bytes)", name, n)
		}
	}
}
