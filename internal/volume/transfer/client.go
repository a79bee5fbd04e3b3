package transfer

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// Source is where a restore pulls from (v1.RestoreSource).
type Source struct {
	// ID identifies the restore: its state is kept under it.
	ID string
	// URL is the export's base, https://host:port/volumes/<ns>/<claim>.
	URL string
	// CertSHA256 pins the server's certificate: the hex SHA-256 of its
	// DER encoding. No CA is consulted.
	CertSHA256 string
	// Token is the bearer token the export accepts.
	Token string
}

// Validate checks the source without side effects; errors name the
// field.
func (s Source) Validate() error {
	var errs []error
	if s.ID == "" {
		errs = append(errs, errors.New("transfer: source id is required"))
	}
	if u, err := url.Parse(s.URL); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("transfer: source url %q is not an https URL", s.URL))
	}
	if b, err := hex.DecodeString(s.CertSHA256); err != nil || len(b) != sha256.Size {
		errs = append(errs, fmt.Errorf("transfer: source certSHA256 %q is not a hex SHA-256", s.CertSHA256))
	}
	if s.Token == "" {
		errs = append(errs, errors.New("transfer: source token is required"))
	}
	return errors.Join(errs...)
}

// StatusError is a refusal of the source, with its HTTP status and
// message.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("transfer: the source answered %d %s: %s", e.Code, http.StatusText(e.Code), e.Message)
}

// Timeouts of the connection to the source: how long a response may
// take to start (more for a resumed file, whose prefix the source hashes
// first), and how long a body may stall.
const (
	headerTimeout = 2 * time.Minute
	prefixRate    = 50 << 20 // bytes per second the source hashes at least
	stallTimeout  = 2 * time.Minute
)

// newHTTPClient makes a client that trusts only the certificate pinned.
func newHTTPClient(pin string) *http.Client {
	pin = strings.ToLower(pin)
	verify := func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("transfer: the source presented no certificate")
		}
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		got := hex.EncodeToString(sum[:])
		if subtle.ConstantTimeCompare([]byte(got), []byte(pin)) != 1 {
			return fmt.Errorf("transfer: the source's certificate (sha256 %s) is not the pinned one (%s)", got, pin)
		}
		return nil
	}
	tr := &http.Transport{
		// The pin replaces the CA check: VerifyConnection runs on every
		// handshake, and a certificate other than the pinned one fails it.
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true, VerifyConnection: verify},
		TLSHandshakeTimeout: 10 * time.Second, DisableCompression: true, MaxIdleConnsPerHost: 1,
		IdleConnTimeout: 30 * time.Second, ReadBufferSize: 1 << 20, WriteBufferSize: 64 << 10,
	}
	return &http.Client{Transport: tr}
}

// response is a request under way; cancel ends it (and must be called).
type response struct {
	*http.Response
	watchdog *time.Timer
	cancel   context.CancelFunc
}

// get starts GET <URL>/<op>?<query>. The response's body is cancelled
// when it waits longer than wait for headers, or stalls for stallTimeout
// after (each read resets the watchdog through touch).
func (r *restorer) get(ctx context.Context, op string, q url.Values, wait time.Duration) (*response, error) {
	u := strings.TrimSuffix(r.src.URL, "/") + "/" + op
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("transfer: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.src.Token)
	dog := time.AfterFunc(wait, cancel)
	resp, err := r.hc.Do(req)
	if err != nil {
		dog.Stop()
		cancel()
		return nil, fmt.Errorf("transfer: GET %s: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		dog.Stop()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil, &StatusError{Code: resp.StatusCode, Message: strings.TrimSpace(string(b))}
	}
	dog.Reset(stallTimeout)
	return &response{Response: resp, watchdog: dog, cancel: cancel}, nil
}

// touch tells the watchdog the body moves.
func (resp *response) touch() { resp.watchdog.Reset(stallTimeout) }

func (resp *response) close() {
	resp.watchdog.Stop()
	resp.Body.Close()
	resp.cancel()
}

// fetchManifest reads the source's manifest.
func (r *restorer) fetchManifest(ctx context.Context) (*Manifest, error) {
	resp, err := r.get(ctx, "manifest", nil, headerTimeout)
	if err != nil {
		return nil, err
	}
	defer resp.close()
	m := &Manifest{}
	if err := json.NewDecoder(resp.Body).Decode(m); err != nil {
		return nil, fmt.Errorf("transfer: manifest: %w", err)
	}
	dirs := map[string]bool{}
	for i, e := range m.Entries {
		if (e.Path != "." && !validPath(e.Path)) || (i > 0 && e.Path <= m.Entries[i-1].Path) {
			return nil, fmt.Errorf("transfer: manifest: entry %q is not a sorted relative path", e.Path)
		}
		// Nothing is placed through a symlink: every parent is a
		// directory listed before.
		if e.Path != "." && !dirs[path.Dir(e.Path)] {
			return nil, fmt.Errorf("transfer: manifest: the parent of %q is not a directory of the manifest", e.Path)
		}
		dirs[e.Path] = e.Type == TypeDir
		if e.Type != TypeDir && e.Type != TypeFile && e.Type != TypeSymlink {
			return nil, fmt.Errorf("transfer: manifest: entry %q has unknown type %q", e.Path, e.Type)
		}
		if e.Path == "." && e.Type != TypeDir {
			return nil, errors.New("transfer: manifest: the root is not a directory")
		}
	}
	return m, nil
}
