package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// proxyLog streams a container's log from its agent, flushing each chunk
// as it arrives.
func (s *Server) proxyLog(w http.ResponseWriter, r *http.Request, t *agentTarget, q url.Values) int {
	resp, cancel, err := s.callAgent(r, t, http.MethodGet, t.url("containerLogs", q))
	if err != nil {
		return writeError(w, err)
	}
	defer cancel()
	defer resp.Body.Close()
	rc := startStream(w, resp.Header.Get("Content-Type"), "text/plain; charset=utf-8")
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return http.StatusOK // the caller went away
			}
			rc.Flush()
		}
		if errors.Is(err, io.EOF) {
			return http.StatusOK
		}
		if err != nil {
			s.abortStream(r, t, err)
			return http.StatusOK
		}
	}
}

// proxyExec streams the frames of a command run by the agent, one line
// (one client.ExecFrame) at a time. When the agent's stream breaks before
// its final frame, the caller gets a final error frame instead.
func (s *Server) proxyExec(w http.ResponseWriter, r *http.Request, t *agentTarget, q url.Values) int {
	resp, cancel, err := s.callAgent(r, t, http.MethodPost, t.url("exec", q))
	if err != nil {
		return writeError(w, err)
	}
	defer cancel()
	defer resp.Body.Close()
	rc := startStream(w, resp.Header.Get("Content-Type"), "application/json")
	br := bufio.NewReaderSize(resp.Body, 32<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				return http.StatusOK
			}
			rc.Flush()
			if finalFrame(line) {
				return http.StatusOK
			}
		}
		if err == nil {
			continue
		}
		if r.Context().Err() != nil {
			return http.StatusOK
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		frame, _ := json.Marshal(execEnd{Error: fmt.Sprintf("agent on node %s: the exec stream ended before the command's exit code: %v", t.node, err)})
		if len(line) > 0 && line[len(line)-1] != '\n' {
			w.Write([]byte{'\n'})
		}
		w.Write(append(frame, '\n'))
		rc.Flush()
		return http.StatusOK
	}
}

// execEnd is the part of a client.ExecFrame that ends a stream.
type execEnd struct {
	ExitCode *int   `json:"exitCode,omitempty"`
	Error    string `json:"error,omitempty"`
}

func finalFrame(line []byte) bool {
	if !bytes.Contains(line, []byte(`"exitCode"`)) && !bytes.Contains(line, []byte(`"error"`)) {
		return false // an output frame: skip decoding its data
	}
	var f execEnd
	return json.Unmarshal(line, &f) == nil && (f.ExitCode != nil || f.Error != "")
}

// startStream sends the headers at once, so that the caller knows the
// stream is open before its first byte, and lifts any write deadline: a
// followed log lasts as long as its reader wants.
func startStream(w http.ResponseWriter, contentType, fallback string) *http.ResponseController {
	if contentType == "" {
		contentType = fallback
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	rc.Flush()
	return rc
}

// abortStream ends a response whose upstream broke, so that the caller
// sees a truncated stream rather than a complete one. A caller that went
// away (or a server that is stopping) is not an error.
func (s *Server) abortStream(r *http.Request, t *agentTarget, err error) {
	if r.Context().Err() != nil {
		return
	}
	s.log.Warn("agent stream broke", "node", t.node, "pod", t.namespace+"/"+t.pod, "container", t.container, "err", err)
	// net/http's sanctioned way to abort a response: the connection or
	// HTTP/2 stream is reset and nothing is logged.
	panic(http.ErrAbortHandler)
}

// callAgent sends one request to the agent. The request ends when the
// caller goes away; cancel must be called when the response is done.
func (s *Server) callAgent(r *http.Request, t *agentTarget, method, target string) (*http.Response, context.CancelFunc, error) {
	if s.cfg.AgentClientCert == nil {
		return nil, nil, v1.NewError(v1.ReasonUnavailable, "the API server has no client certificate for node agents (apiserver.Config.AgentClientCert): pod logs and exec are unavailable")
	}
	ctx, cancel := context.WithCancel(r.Context())
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("agent on node %s: build request: %w", t.node, err)
	}
	resp, err := s.agentHTTPClient(t).Do(req)
	if err != nil {
		cancel()
		if pe := (*pinError)(nil); errors.As(err, &pe) {
			return nil, nil, v1.NewError(v1.ReasonUnavailable, "agent on node %s at %s is not the one the node registered: %v", t.node, t.addr, pe)
		}
		return nil, nil, v1.NewError(v1.ReasonUnavailable, "agent on node %s at %s is unreachable: %v", t.node, t.addr, unwrapURL(err))
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		return nil, nil, agentError(t, resp)
	}
	return resp, cancel, nil
}

// agentHTTPClient talks to one agent: it checks the agent's certificate
// against the Node's pin instead of a CA (the agent signs its own), and
// presents the API server's client certificate. Connections are not
// reused: logs and exec are rare and long, and each pin is per node.
func (s *Server) agentHTTPClient(t *agentTarget) *http.Client {
	tlsCfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{*s.cfg.AgentClientCert},
		// The chain is not checked (the agent's certificate is
		// self-signed); VerifyPeerCertificate checks the pin instead. No
		// session cache is set, so every handshake is a full one and the
		// pin is always checked.
		InsecureSkipVerify:    true,
		VerifyPeerCertificate: pinVerifier(t),
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableKeepAlives:   true,
		// Compression would hold bytes back from a followed log.
		DisableCompression: true,
	}}
}

// pinVerifier accepts only the certificate whose SHA-256 the Node pins.
func pinVerifier(t *agentTarget) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return fmt.Errorf("agent on node %s presented no certificate", t.node)
		}
		got := sha256.Sum256(raw[0])
		if subtle.ConstantTimeCompare(got[:], t.pin) != 1 {
			return &pinError{got: got[:], want: t.pin}
		}
		return nil
	}
}

// pinError is an agent certificate that does not match its Node's pin.
type pinError struct{ got, want []byte }

func (e *pinError) Error() string {
	return fmt.Sprintf("its certificate has SHA-256 %x, but the node's annotation %s pins %x", e.got, v1.AnnotationAgentCertSHA256, e.want)
}

// agentError turns an agent's failed answer into an API error that names
// the agent; 404 and 400 keep their meaning, a 5xx keeps its code.
func agentError(t *agentTarget, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusNotFound:
		return v1.NewError(v1.ReasonNotFound, "agent on node %s: %s", t.node, msg)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return v1.NewError(v1.ReasonUnavailable, "agent on node %s refused the API server's client certificate (%d): %s", t.node, code, msg)
	case code >= 400 && code < 500:
		return v1.NewError(v1.ReasonBadRequest, "agent on node %s: %s", t.node, msg)
	default:
		e := v1.NewError(v1.ReasonInternal, "agent on node %s answered %d: %s", t.node, code, msg)
		if code >= 500 && code < 600 {
			e.Status.Code = code
		}
		return e
	}
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
