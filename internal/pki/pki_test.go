package pki

import (
	"crypto/x509"
	"os"
	"testing"
)

func TestCAAndServerCertificate(t *testing.T) {
	f := Files{Dir: t.TempDir()}
	ca, err := EnsureCA(f)
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureCA(f)
	if err != nil || !again.Cert.Equal(ca.Cert) {
		t.Fatalf("second EnsureCA made a new CA (%v): clients would lose trust", err)
	}
	for _, p := range []string{f.CAKey(), f.CACert()} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v (%v), want 0600", p, st.Mode(), err)
		}
	}
	cert, err := EnsureServerCert(f, ca, []string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, h := range []string{"localhost", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: h}); err != nil {
			t.Fatalf("serving certificate does not verify for %s: %v", h, err)
		}
	}
	same, _ := EnsureServerCert(f, ca, []string{"localhost"})
	if string(same.Certificate[0]) != string(cert.Certificate[0]) {
		t.Fatal("a certificate that still covers the hosts was reissued")
	}
	wider, _ := EnsureServerCert(f, ca, []string{"localhost", "10.0.0.7"})
	leaf2, _ := x509.ParseCertificate(wider.Certificate[0])
	if _, err := leaf2.Verify(x509.VerifyOptions{Roots: pool, DNSName: "10.0.0.7"}); err != nil {
		t.Fatalf("certificate not reissued for a new listen address: %v", err)
	}
}
