// Package testcluster starts a real control plane for tests: an embedded
// etcd in a temporary directory and the API server with TLS on a port the
// OS picks, plus clients for each role. Nothing is faked.
package testcluster

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/pki"
	"github.com/kennel-dev/kennel/internal/store"
)

// Cluster is a running control plane.
type Cluster struct {
	Store  *store.Store
	Server *apiserver.Server
	// CA is the PEM CA of the server's certificate.
	CA []byte
	// Admin is a client with the admin role.
	Admin *client.Client
	// AdminToken is Admin's bearer token.
	AdminToken string
	ca         *pki.CA
	t          testing.TB
}

// Start runs a control plane that is torn down when the test ends.
func Start(t testing.TB) *Cluster { return StartWith(t, nil) }

// StartWith is Start with the API server's configuration adjusted by tune.
func StartWith(t testing.TB, tune func(*apiserver.Config)) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	st, err := store.Start(ctx, store.Config{DataDir: filepath.Join(dir, "etcd"), CompactionInterval: -1, NoFsync: true})
	if err != nil {
		t.Fatalf("testcluster: start store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	files := pki.Files{Dir: filepath.Join(dir, "pki")}
	ca, err := pki.EnsureCA(files)
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	cert, err := pki.EnsureServerCert(files, ca, pki.DefaultHosts("127.0.0.1"))
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	agentCert, err := issueAgentClientCert(ca)
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	cfg := apiserver.Config{Listen: "127.0.0.1:0", Store: st, TLS: &cert, AgentClientCert: &agentCert,
		EncryptionKeyFile: filepath.Join(dir, "encryption.keys")}
	if tune != nil {
		tune(&cfg)
	}
	srv, err := apiserver.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("testcluster: start apiserver: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	c := &Cluster{Store: st, Server: srv, CA: ca.CertPEM, ca: ca, t: t}
	c.AdminToken = c.Token(apiserver.RoleAdmin, "")
	c.Admin = c.Client(c.AdminToken)
	return c
}

// Token mints a token of role (bound to node for node tokens, if set).
func (c *Cluster) Token(role apiserver.Role, node string) string {
	c.t.Helper()
	tok, err := c.Server.CreateToken(context.Background(), role, node, "test")
	if err != nil {
		c.t.Fatalf("testcluster: create token: %v", err)
	}
	return tok
}

// Client returns a client that sends token ("" sends none).
func (c *Cluster) Client(token string) *client.Client {
	c.t.Helper()
	cl, err := client.New(client.Config{Server: c.Server.URL(), CAData: c.CA, Token: token})
	if err != nil {
		c.t.Fatalf("testcluster: client: %v", err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// Eventually polls cond until it returns true or the deadline passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Within(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s\n%s", timeout, what, goroutines())
	}
}

// goroutines is the stacks of this process's goroutines, at most 256 KiB:
// where an in-process server or controller is stuck when a wait times out.
func goroutines() string {
	buf := make([]byte, 256<<10)
	return "goroutines of the test process:\n" + string(buf[:runtime.Stack(buf, true)])
}

// Within polls cond until it returns true (true) or the deadline passes
// (false), for a test that says more than Eventually when it fails.
func Within(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
		wait = min(wait*2, 100*time.Millisecond)
	}
	return true
}
