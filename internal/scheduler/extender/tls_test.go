package extender

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startTLSExtender serves a filter that keeps every node over TLS, with
// httptest's certificate (valid for 127.0.0.1 and example.com), and
// returns the config without a tlsConfig and the server's CA as PEM.
// With clientCAs, the server requires a client certificate they sign.
func startTLSExtender(t *testing.T, clientCAs *x509.CertPool) (Config, []byte) {
	t.Helper()
	srv := httptest.NewUnstartedServer(extenderHandler(t, &recorder{}, func(c call) (int, any) {
		return 200, map[string]any{"NodeNames": []string{"a"}}
	}))
	if clientCAs != nil {
		srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	cfg := Config{URLPrefix: srv.URL + "/ext", FilterVerb: "filter", EnableHTTPS: true, NodeCacheCapable: true}
	return cfg, ca
}

// clientCertificate makes a self-signed client certificate and key, as
// PEM, and a pool that trusts it.
func clientCertificate(t *testing.T) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kennel-scheduler"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), pool
}

func filterOnce(t *testing.T, cfg Config) error {
	t.Helper()
	_, _, err := newExtender(t, cfg).Filter(context.Background(), testPod(), testNodes("a"))
	return err
}

func TestTLSServerVerification(t *testing.T) {
	t.Parallel()
	cfg, ca := startTLSExtender(t, nil)
	var verifyErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var wrongHost x509.HostnameError

	tests := []struct {
		name    string
		tls     *TLSConfig
		wantErr any // nil, or a pointer for errors.As
	}{
		{"caData", &TLSConfig{CAData: ca}, nil},
		{"caData and serverName in the certificate", &TLSConfig{CAData: ca, ServerName: "example.com"}, nil},
		{"insecure", &TLSConfig{Insecure: true}, nil},
		{"no CA", nil, &unknownCA},
		{"empty tlsConfig", &TLSConfig{}, &unknownCA},
		{"serverName not in the certificate", &TLSConfig{CAData: ca, ServerName: "other.example"}, &wrongHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.TLSConfig = tt.tls
			err := filterOnce(t, c)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Filter: %v", err)
			case tt.wantErr != nil && (!errors.As(err, &verifyErr) || !errors.As(err, tt.wantErr)):
				t.Errorf("Filter error = %v, want a %T", err, tt.wantErr)
			}
		})
	}
}

func TestTLSClientCertificate(t *testing.T) {
	t.Parallel()
	certPEM, keyPEM, pool := clientCertificate(t)
	cfg, ca := startTLSExtender(t, pool)
	dir := t.TempDir()
	files := map[string][]byte{"ca.crt": ca, "client.crt": certPEM, "client.key": keyPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		tls  *TLSConfig
		ok   bool
	}{
		{"data", &TLSConfig{CAData: ca, CertData: certPEM, KeyData: keyPEM}, true},
		{"files", &TLSConfig{
			CAFile: filepath.Join(dir, "ca.crt"), CertFile: filepath.Join(dir, "client.crt"), KeyFile: filepath.Join(dir, "client.key"),
		}, true},
		{"no client certificate", &TLSConfig{CAData: ca}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.TLSConfig = tt.tls
			err := filterOnce(t, c)
			if (err == nil) != tt.ok {
				t.Errorf("Filter error = %v, want success %v", err, tt.ok)
			}
		})
	}
}

func TestNewRejectsBadTLSMaterial(t *testing.T) {
	t.Parallel()
	certPEM, keyPEM, _ := clientCertificate(t)
	missing := filepath.Join(t.TempDir(), "missing.crt")
	tests := []struct {
		name string
		tls  TLSConfig
		want string
	}{
		{"caData not PEM", TLSConfig{CAData: []byte("not pem")}, "tlsConfig: caData/caFile: no PEM certificate found"},
		{"caFile missing", TLSConfig{CAFile: missing}, "tlsConfig.caFile: open " + missing},
		{"key of another certificate", TLSConfig{CertData: certPEM, KeyData: mismatchedKey(t)}, "tlsConfig: client certificate: "},
		{"certFile missing", TLSConfig{CertFile: missing, KeyData: keyPEM}, "tlsConfig.certFile: open " + missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{URLPrefix: "https://127.0.0.1:1/ext", TLSConfig: &tt.tls})
			prefix := "scheduler: extender https://127.0.0.1:1/ext: "
			if err == nil || !strings.HasPrefix(err.Error(), prefix+tt.want) {
				t.Errorf("New error = %v, want %s%s…", err, prefix, tt.want)
			}
		})
	}
}

func mismatchedKey(t *testing.T) []byte {
	t.Helper()
	_, keyPEM, _ := clientCertificate(t)
	return keyPEM
}
