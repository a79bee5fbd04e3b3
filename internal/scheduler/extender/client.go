package extender

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// Limits on what is read back from an extender: a filter answer of a
// non-node-cache-capable extender echoes whole nodes, so the body may be
// large; an error body is only quoted.
const (
	maxAnswerBytes  = 64 << 20
	maxExcerptBytes = 256
)

// Error is a failed call to an extender: the call could not be made, the
// extender answered a status other than 200, an answer that does not
// decode or one that breaks the protocol, or an "Error" of its own.
type Error struct {
	// Extender is the extender's URL prefix (its Name).
	Extender string
	// Op is the call: "filter", "prioritize" or "bind".
	Op string
	// Err is what went wrong.
	Err error
}

// Error names the extender and the call.
func (e *Error) Error() string {
	return fmt.Sprintf("scheduler: extender %s %s: %v", e.Extender, e.Op, e.Err)
}

// Unwrap returns the cause, so that errors.As finds a net.Error timeout.
func (e *Error) Unwrap() error { return e.Err }

// New validates cfg and builds the client of the extender it describes,
// reading the TLS files it names. It contacts nothing.
func New(cfg Config) (*Extender, error) {
	if err := cfg.Validate("extender"); err != nil {
		return nil, err
	}
	transport := &http.Transport{Proxy: http.ProxyFromEnvironment}
	if def, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = def.Clone() // its dial, idle and handshake timeouts
	}
	if cfg.TLSConfig != nil {
		tc, err := cfg.TLSConfig.build()
		if err != nil {
			return nil, fmt.Errorf("scheduler: extender %s: %w", cfg.URLPrefix, err)
		}
		transport.TLSClientConfig = tc
	}
	managed := make(map[string]bool, len(cfg.ManagedResources))
	for _, r := range cfg.ManagedResources {
		managed[r.Name] = true
	}
	return &Extender{
		cfg:     cfg,
		prefix:  strings.TrimRight(cfg.URLPrefix, "/"),
		client:  &http.Client{Transport: transport, Timeout: cfg.timeout()},
		managed: managed,
	}, nil
}

// build turns t into a crypto/tls client configuration. Unlike
// Kubernetes, an https extender without a CA is verified against the
// system's roots, not trusted blindly; Insecure must be asked for.
func (t *TLSConfig) build() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.Insecure, // only when configured: for testing
	}
	ca, err := dataOrFile(t.CAData, t.CAFile, "tlsConfig.caFile")
	if err != nil {
		return nil, err
	}
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("tlsConfig: caData/caFile: no PEM certificate found")
		}
		tc.RootCAs = pool
	}
	cert, err := dataOrFile(t.CertData, t.CertFile, "tlsConfig.certFile")
	if err != nil {
		return nil, err
	}
	key, err := dataOrFile(t.KeyData, t.KeyFile, "tlsConfig.keyFile")
	if err != nil {
		return nil, err
	}
	if len(cert) > 0 || len(key) > 0 {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("tlsConfig: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

func dataOrFile(data []byte, file, field string) ([]byte, error) {
	if len(data) > 0 || file == "" {
		return data, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return b, nil
}

// send POSTs in as JSON to the verb and decodes the answer into out.
func (e *Extender) send(ctx context.Context, op, verb string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return e.fail(op, fmt.Errorf("encode request: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.prefix+"/"+verb, bytes.NewReader(body))
	if err != nil {
		return e.fail(op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return e.fail(op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return e.fail(op, fmt.Errorf("status %d: %s", resp.StatusCode, excerpt(resp.Body)))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswerBytes)).Decode(out); err != nil {
		return e.fail(op, fmt.Errorf("decode answer: %w", err))
	}
	return nil
}

func (e *Extender) fail(op string, err error) error {
	return &Error{Extender: e.cfg.URLPrefix, Op: op, Err: err}
}

// excerpt is the start of an error body, on one line.
func excerpt(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxExcerptBytes+1))
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(b) > maxExcerptBytes {
		s = strings.ToValidUTF8(s[:min(len(s), maxExcerptBytes)], "") + "…"
	}
	return s
}
