package prober

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// server starts a real HTTP (or HTTPS) server on 127.0.0.1:0 and returns
// its port. /hang answers only when the test ends.
func server(t *testing.T, tls bool) int32 {
	t.Helper()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "database unreachable", http.StatusInternalServerError)
	})
	mux.HandleFunc("/redirect-ok", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/redirect-fail", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/fail", http.StatusFound)
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Probe") != "yes" || r.Host != "pets.example" || r.URL.RawQuery != "deep=1" {
			http.Error(w, "missing header, host or query", http.StatusBadRequest)
		}
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, _ *http.Request) { <-release })
	srv := httptest.NewUnstartedServer(mux)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	return int32(port)
}

func httpProbe(path string, port intstr.IntOrString) *v1.Probe {
	return &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: path, Port: port}}}
}

func TestRunHTTP(t *testing.T) {
	t.Parallel()
	port := server(t, false)
	tlsPort := server(t, true)
	target := Target{PodIP: "127.0.0.1", Ports: map[string]int32{"http": port}}
	headers := httpProbe("/headers?deep=1", intstr.FromInt32(port))
	headers.HTTPGet.HTTPHeaders = []v1.HTTPHeader{{Name: "X-Probe", Value: "yes"}, {Name: "Host", Value: "pets.example"}}
	https := httpProbe("/ok", intstr.FromInt32(tlsPort))
	https.HTTPGet.Scheme = v1.URISchemeHTTPS
	cases := []struct {
		name  string
		probe *v1.Probe
		want  Result
		msg   string // in the failure message
	}{
		{"200", httpProbe("/ok", intstr.FromInt32(port)), Success, ""},
		{"default path", httpProbe("", intstr.FromInt32(port)), Failure, "status 404"},
		{"500", httpProbe("/fail", intstr.FromInt32(port)), Failure, `status 500: "database unreachable"`},
		{"same-host redirect followed", httpProbe("/redirect-ok", intstr.FromInt32(port)), Success, ""},
		{"redirect to a failure", httpProbe("/redirect-fail", intstr.FromInt32(port)), Failure, "status 500"},
		{"named port", httpProbe("/ok", intstr.FromString("http")), Success, ""},
		{"unknown named port", httpProbe("/ok", intstr.FromString("admin")), Failure, `no port named "admin"`},
		{"headers, host and query", headers, Success, ""},
		{"https without verification", https, Success, ""},
		{"http to an https server", httpProbe("/ok", intstr.FromInt32(tlsPort)), Failure, "status 400"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			assertRun(t, c.probe, target, c.want, c.msg)
		})
	}
}

func assertRun(t *testing.T, p *v1.Probe, target Target, want Result, msg string) {
	t.Helper()
	got, gotMsg := Run(context.Background(), p, target)
	if got != want {
		t.Errorf("Run = %v (%s), want %v", got, gotMsg, want)
	}
	if !strings.Contains(gotMsg, msg) || (want == Success) != (gotMsg == "") {
		t.Errorf("message = %q, want it to contain %q (and be empty only on success)", gotMsg, msg)
	}
}

func TestRunTCP(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	// A port that was just free and is closed again refuses connections.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	open := ln.Addr().(*net.TCPAddr).Port
	tcp := func(port intstr.IntOrString, host string) *v1.Probe {
		return &v1.Probe{ProbeHandler: v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: port, Host: host}}}
	}
	target := Target{PodIP: "127.0.0.1", Ports: map[string]int32{"db": int32(open)}}
	assertRun(t, tcp(intstr.FromInt(open), ""), target, Success, "")
	assertRun(t, tcp(intstr.FromString("db"), ""), target, Success, "")
	assertRun(t, tcp(intstr.FromInt(open), "127.0.0.1"), Target{}, Success, "")
	assertRun(t, tcp(intstr.FromInt(closedPort), ""), target, Failure, "connection refused")
	assertRun(t, tcp(intstr.FromInt(open), ""), Target{}, Failure, "no IP")
	assertRun(t, tcp(intstr.FromInt(0), ""), target, Failure, "not a port number")
}

func TestRunExec(t *testing.T) {
	t.Parallel()
	var gotCmd []string
	fake := func(out string, code int, err error) Target {
		return Target{Exec: func(_ context.Context, cmd []string) ([]byte, int, error) {
			gotCmd = cmd
			return []byte(out), code, err
		}}
	}
	probe := &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"pg_isready", "-q"}}}}
	assertRun(t, probe, fake("", 0, nil), Success, "")
	if strings.Join(gotCmd, " ") != "pg_isready -q" {
		t.Errorf("Exec got %q, want the probe's command", gotCmd)
	}
	assertRun(t, probe, fake("no response\n", 2, nil), Failure, `exit code 2: "no response"`)
	assertRun(t, probe, fake("", 0, errors.New("container not running")), Failure, "container not running")
	assertRun(t, probe, Target{}, Failure, "cannot run commands")
}

func TestRunUnsupported(t *testing.T) {
	t.Parallel()
	assertRun(t, &v1.Probe{}, Target{PodIP: "127.0.0.1"}, Failure, "no supported handler")
	assertRun(t, nil, Target{}, Success, "")
}

// TestRunTimeout checks that a probe that hangs past timeoutSeconds fails,
// for a server that never answers and for an exec seam that ignores its
// context.
func TestRunTimeout(t *testing.T) {
	t.Parallel()
	port := server(t, false)
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	hangingExec := Target{Exec: func(context.Context, []string) ([]byte, int, error) {
		<-stuck
		return nil, 0, nil
	}}
	cases := []struct {
		name   string
		probe  *v1.Probe
		target Target
	}{
		{"httpGet", httpProbe("/hang", intstr.FromInt32(port)), Target{PodIP: "127.0.0.1"}},
		{"exec", &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"sleep", "100"}}}}, hangingExec},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.probe.TimeoutSeconds = 1
			start := time.Now()
			assertRun(t, c.probe, c.target, Failure, "timed out after 1s")
			// The deadline is what ended the probe, not anything else.
			if took := time.Since(start); took < time.Second || took > 10*time.Second {
				t.Errorf("probe with a 1s timeout took %v", took)
			}
		})
	}
}

func TestRunAbandoned(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	target := Target{Exec: func(ctx context.Context, _ []string) ([]byte, int, error) {
		cancel()
		<-ctx.Done()
		return nil, -1, ctx.Err()
	}}
	probe := &v1.Probe{ProbeHandler: v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"true"}}}, TimeoutSeconds: 30}
	if got, msg := Run(ctx, probe, target); got != Unknown {
		t.Errorf("Run with its context cancelled = %v (%s), want unknown", got, msg)
	}
}
