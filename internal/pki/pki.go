// Package pki creates and loads the certificate authority and the serving
// certificates that Kennel generates into its data dir, so that every
// cluster has TLS from its first start.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/kennel-dev/kennel/internal/atomicfile"
)

// Files is where a data dir keeps its PKI.
type Files struct {
	Dir string
}

// CACert is the CA certificate's path.
func (f Files) CACert() string { return filepath.Join(f.Dir, "ca.crt") }

// CAKey is the CA key's path.
func (f Files) CAKey() string { return filepath.Join(f.Dir, "ca.key") }

// ServerCert is the serving certificate's path.
func (f Files) ServerCert() string { return filepath.Join(f.Dir, "server.crt") }

// ServerKey is the serving key's path.
func (f Files) ServerKey() string { return filepath.Join(f.Dir, "server.key") }

// CA is a loaded certificate authority.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	Key     *ecdsa.PrivateKey
}

// EnsureCA loads the CA from f, creating it on first use.
func EnsureCA(f Files) (*CA, error) {
	certPEM, err := os.ReadFile(f.CACert())
	if errors.Is(err, os.ErrNotExist) {
		return createCA(f)
	}
	if err != nil {
		return nil, fmt.Errorf("pki: read CA: %w", err)
	}
	keyPEM, err := os.ReadFile(f.CAKey())
	if err != nil {
		return nil, fmt.Errorf("pki: read CA key: %w", err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", f.CACert(), err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", f.CAKey(), err)
	}
	return &CA{Cert: cert, CertPEM: certPEM, Key: key}, nil
}

func createCA(f Files) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "kennel-ca", Organization: []string{"Kennel"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CA: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &CA{Cert: cert, CertPEM: pemCert(der), Key: key}
	if err := writeFiles(f.Dir, map[string][]byte{f.CACert(): ca.CertPEM, f.CAKey(): pemKey(key)}); err != nil {
		return nil, err
	}
	return ca, nil
}

// EnsureServerCert loads the serving certificate, or issues a new one from
// ca when it is missing, expires within 30 days, or lacks one of hosts.
func EnsureServerCert(f Files, ca *CA, hosts []string) (tls.Certificate, error) {
	if c, err := tls.LoadX509KeyPair(f.ServerCert(), f.ServerKey()); err == nil {
		leaf, perr := x509.ParseCertificate(c.Certificate[0])
		if perr == nil && covers(leaf, hosts) && time.Until(leaf.NotAfter) > 30*24*time.Hour &&
			leaf.CheckSignatureFrom(ca.Cert) == nil {
			return c, nil
		}
	}
	certPEM, keyPEM, err := ca.Issue("kennel-apiserver", hosts, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFiles(f.Dir, map[string][]byte{f.ServerCert(): certPEM, f.ServerKey(): keyPEM}); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// Issue signs a new certificate for hosts (DNS names or IPs), valid a year.
func (ca *CA) Issue(cn string, hosts []string, usage ...x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	return newCert(cn, hosts, time.Now().AddDate(1, 0, 0), ca, usage)
}

// SelfSigned makes a certificate signed by its own key, for hosts (DNS
// names or IPs), valid until notAfter: what a node agent serves with, its
// fingerprint pinned by the API server instead of a CA vouching for it.
func SelfSigned(cn string, hosts []string, notAfter time.Time, usage ...x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	return newCert(cn, hosts, notAfter, nil, usage)
}

// newCert makes a certificate signed by ca, or by itself when ca is nil.
func newCert(cn string, hosts []string, notAfter time.Time, ca *CA, usage []x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Kennel"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  usage,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.Cert, ca.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: issue %s: %w", cn, err)
	}
	return pemCert(der), pemKey(key), nil
}

// DefaultHosts are the names a local API server is reached by, plus the
// host of listen when it is a specific address.
func DefaultHosts(listenHost string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	if listenHost != "" && listenHost != "0.0.0.0" && listenHost != "::" && !slices.Contains(hosts, listenHost) {
		hosts = append(hosts, listenHost)
	}
	return hosts
}

func covers(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemKey(k *ecdsa.PrivateKey) []byte {
	der, _ := x509.MarshalECPrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func parseCert(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func parseKey(b []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM key")
	}
	return x509.ParseECPrivateKey(blk.Bytes)
}

// writeFiles writes each file atomically (temp file, rename) with mode 0600.
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	for path, data := range files {
		if err := atomicfile.Write(path, data, 0o600); err != nil {
			return fmt.Errorf("pki: %w", err)
		}
	}
	return nil
}
