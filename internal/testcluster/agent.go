package testcluster

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/pki"
)

// FakeAgent stands in for a node agent's HTTPS endpoint, built to the
// agent's side of the logs and exec contract: a self-signed serving
// certificate that the Node pins by its SHA-256, and client certificates
// required from the cluster CA with CommonName v1.AgentProxyClientCN. The
// test supplies what it serves (the kubelet's /containerLogs and /exec
// paths); handlers must end when their request's context does.
type FakeAgent struct {
	// Server is the running TLS server on 127.0.0.1.
	Server *httptest.Server
	// Port is the port it listens on.
	Port int32
	// CertSHA256 is the hex SHA-256 of its certificate's DER.
	CertSHA256 string
}

// StartFakeAgent serves h as a node agent until the test ends. Requests
// that present no client certificate, one the cluster CA did not sign, or
// one for another CommonName are refused.
func (c *Cluster) StartFakeAgent(h http.Handler) *FakeAgent {
	c.t.Helper()
	cert, err := selfSignedCert("fake-agent")
	if err != nil {
		c.t.Fatalf("testcluster: fake agent: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CA) {
		c.t.Fatal("testcluster: fake agent: cluster CA is not PEM")
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != v1.AgentProxyClientCN {
			http.Error(w, "fake agent: client certificate is not the API server's", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	}))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	srv.StartTLS()
	c.t.Cleanup(func() {
		// Close waits for requests in flight; a followed log ends only
		// when its connection does.
		srv.CloseClientConnections()
		srv.Close()
	})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	sum := sha256.Sum256(cert.Certificate[0])
	return &FakeAgent{Server: srv, Port: int32(p), CertSHA256: hex.EncodeToString(sum[:])}
}

// RegisterNode creates, as admin, a Node named name whose agent is a: its
// InternalIP is 127.0.0.1, its agent port a.Port, its pin a.CertSHA256.
func (c *Cluster) RegisterNode(ctx context.Context, name string, a *FakeAgent) *v1.Node {
	c.t.Helper()
	nodes := client.For[*v1.Node](c.Admin, "")
	n, err := nodes.Create(ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{
		Name:        name,
		Annotations: map[string]string{v1.AnnotationAgentCertSHA256: a.CertSHA256},
	}})
	if err != nil {
		c.t.Fatalf("testcluster: register node %s: %v", name, err)
	}
	n.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "127.0.0.1"}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = a.Port
	if n, err = nodes.UpdateStatus(ctx, n); err != nil {
		c.t.Fatalf("testcluster: register node %s: status: %v", name, err)
	}
	return n
}

// selfSignedCert makes a serving certificate for 127.0.0.1 signed by its
// own key, as an agent does.
func selfSignedCert(cn string) (tls.Certificate, error) {
	certPEM, keyPEM, err := pki.SelfSigned(cn, []string{"127.0.0.1"}, time.Now().Add(24*time.Hour),
		x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// SelfSignedClientCert is a certificate for CommonName cn that no cluster
// CA signed: what an agent must refuse.
func SelfSignedClientCert(cn string) (tls.Certificate, error) { return selfSignedCert(cn) }

// IssueClientCert issues a client certificate for CommonName cn from the
// cluster CA.
func (c *Cluster) IssueClientCert(cn string) tls.Certificate {
	c.t.Helper()
	certPEM, keyPEM, err := c.ca.Issue(cn, nil, x509.ExtKeyUsageClientAuth)
	if err != nil {
		c.t.Fatalf("testcluster: %v", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		c.t.Fatalf("testcluster: %v", err)
	}
	return cert
}

// issueAgentClientCert issues the API server's client certificate for
// node agents, as the control plane does.
func issueAgentClientCert(ca *pki.CA) (tls.Certificate, error) {
	certPEM, keyPEM, err := ca.Issue(v1.AgentProxyClientCN, nil, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("agent client certificate: %w", err)
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
