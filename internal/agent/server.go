package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/runtime"
)

// server is the agent's HTTPS endpoint for logs and exec, and for the
// export of stopped pets' volumes. Only the API server may read logs and
// run commands: it must present a client certificate with the proxy's
// CommonName, signed by the cluster CA. A volume export is read by
// another cluster's agent, which has no such certificate: it presents
// the bearer token whose hash the claim carries (export.go).
type server struct {
	a           *Agent
	ln          net.Listener
	http        *http.Server
	fingerprint string
	exports     *exports
}

func (a *Agent) startServer() (*server, error) {
	cert, fp, err := servingCert(a.cfg.DataDir, a.cfg.NodeName, a.cfg.NodeIP)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if len(a.cfg.CA) == 0 || !pool.AppendCertsFromPEM(a.cfg.CA) {
		return nil, errors.New("agent: the cluster CA is required (it verifies the API server's client certificate for logs and exec)")
	}
	// A client certificate is verified when one is presented; each
	// handler says whether it needs the API server's (apiServerOnly).
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.VerifyClientCertIfGiven,
		ClientCAs: pool, MinVersion: tls.VersionTLS12}
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("agent: listen %s: %w", a.cfg.Listen, err)
	}
	s := &server{a: a, ln: ln, fingerprint: fp, exports: newExports(a)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", apiServerOnly(s.logs))
	mux.HandleFunc("POST /exec/{namespace}/{pod}/{container}", apiServerOnly(s.exec))
	mux.HandleFunc("GET /volumes/{namespace}/{claim}/manifest", s.exportVolume)
	mux.HandleFunc("GET /volumes/{namespace}/{claim}/file", s.exportVolume)
	mux.HandleFunc("GET /healthz", apiServerOnly(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: nil}
	a.wg.Go(func() {
		err := s.http.Serve(tls.NewListener(ln, tlsCfg))
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			select {
			case a.errc <- fmt.Errorf("agent: server: %w", err):
			default:
			}
		}
	})
	return s, nil
}

func (s *server) addr() string { return s.ln.Addr().String() }

func (s *server) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		err = s.http.Close()
	}
	s.exports.close()
	return err
}

// apiServerOnly lets only the API server call h: a client certificate
// signed by the cluster CA (the TLS handshake verified it) with the
// proxy's CommonName.
func apiServerOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || r.TLS.VerifiedChains[0][0].Subject.CommonName != v1.AgentProxyClientCN {
			http.Error(w, fmt.Sprintf("agent: only the API server (%s) may call this endpoint", v1.AgentProxyClientCN), http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// target finds the pod and container a request names, answering 404
// itself when there is none.
func (s *server) target(w http.ResponseWriter, r *http.Request) (uid, container string, ok bool) {
	ns, name, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	pod, found := s.a.podByName(ns, name)
	if !found {
		http.Error(w, fmt.Sprintf("pod %s/%s is not on node %s", ns, name, s.a.cfg.NodeName), http.StatusNotFound)
		return "", "", false
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == container {
			return string(pod.UID), container, true
		}
	}
	http.Error(w, fmt.Sprintf("pod %s/%s has no container %q", ns, name, container), http.StatusNotFound)
	return "", "", false
}

func (s *server) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tail := int64(-1)
	if v := q.Get("tailLines"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			http.Error(w, fmt.Sprintf("tailLines %q is not a non-negative integer", v), http.StatusBadRequest)
			return
		}
		tail = n
	}
	uid, container, ok := s.target(w, r)
	if !ok {
		return
	}
	previous, follow := q.Get("previous") == "true", q.Get("follow") == "true"
	path, err := s.a.rt.LogPath(uid, container, previous)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, runtime.ErrNotFound) {
			code = http.StatusNotFound
			err = fmt.Errorf("container %q has no previous start", container)
			if !previous {
				err = fmt.Errorf("container %q has not started", container)
			}
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	stillWriting := func() bool {
		cur, _, err := s.a.rt.ContainerStatus(uid, container)
		p, _ := s.a.rt.LogPath(uid, container, false)
		return err == nil && cur.State == runtime.StateRunning && p == path
	}
	if err := streamLog(r.Context(), w, path, tail, follow && !previous, stillWriting); err != nil && r.Context().Err() == nil {
		s.a.log.Warn("log stream ended", "err", err)
	}
}

func (s *server) exec(w http.ResponseWriter, r *http.Request) {
	cmd := r.URL.Query()["command"]
	if len(cmd) == 0 {
		http.Error(w, "exec: at least one command parameter is required", http.StatusBadRequest)
		return
	}
	uid, container, ok := s.target(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fw := &frameWriter{w: w, rc: http.NewResponseController(w)}
	code, err := s.a.rt.Exec(r.Context(), uid, container, cmd, fw.stream(client.ExecStreamStdout), fw.stream(client.ExecStreamStderr))
	if err != nil {
		fw.write(client.ExecFrame{Error: err.Error()})
		return
	}
	fw.write(client.ExecFrame{ExitCode: &code})
}

// frameWriter writes exec output as JSON frames, one per write, flushed at
// once; stdout and stderr are written from different goroutines.
type frameWriter struct {
	mu sync.Mutex
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (f *frameWriter) write(fr client.ExecFrame) error {
	b, err := json.Marshal(fr)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.w.Write(append(b, '\n')); err != nil {
		return err
	}
	return f.rc.Flush()
}

type streamWriter struct {
	f    *frameWriter
	name string
}

func (f *frameWriter) stream(name string) *streamWriter { return &streamWriter{f: f, name: name} }

func (s *streamWriter) Write(p []byte) (int, error) {
	if err := s.f.write(client.ExecFrame{Stream: s.name, Data: p}); err != nil {
		return 0, err
	}
	return len(p), nil
}
