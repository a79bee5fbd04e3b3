package agent

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kennel-dev/kennel/internal/atomicfile"
	"github.com/kennel-dev/kennel/internal/pki"
)

// servingCert loads the agent's self-signed serving certificate from its
// data dir, making one on first start. The API server pins it by the
// fingerprint the agent publishes on its Node, so no CA has to sign it.
func servingCert(dir, nodeName, nodeIP string) (tls.Certificate, string, error) {
	certPath, keyPath := filepath.Join(dir, "agent.crt"), filepath.Join(dir, "agent.key")
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		if leaf, err := x509.ParseCertificate(c.Certificate[0]); err == nil && time.Now().Before(leaf.NotAfter.Add(-24*time.Hour)) {
			return c, fingerprint(c.Certificate[0]), nil
		}
	}
	hosts := []string{nodeName, "localhost", "127.0.0.1", nodeIP}
	certPEM, keyPEM, err := pki.SelfSigned("kennel-agent:"+nodeName, hosts, time.Now().AddDate(10, 0, 0), x509.ExtKeyUsageServerAuth)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("agent: serving certificate: %w", err)
	}
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("agent: serving certificate: %w", err)
	}
	if err := atomicfile.Write(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("agent: serving certificate: %w", err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	return c, fingerprint(c.Certificate[0]), nil
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
