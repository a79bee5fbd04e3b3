// Package prober runs container probes with Kubernetes semantics: Run
// performs one exec, httpGet or tcpSocket check of a v1.Probe, and a Worker
// repeats it on the probe's schedule and turns the raw results into a
// liveness, readiness or startup verdict through the success and failure
// thresholds.
//
// The process launch is a seam: exec probes run through Target.Exec, which
// the runtime implements. A Worker reads time only through a clock.Clock,
// so tests drive its schedule with a fake clock; the timeout of each probe
// is real time, since it bounds real network and process calls.
package prober

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Result is the outcome of a probe.
type Result int

// The results.
const (
	// Unknown means no verdict: not probed yet, or the probe was abandoned
	// because its context ended.
	Unknown Result = iota
	// Success means the container passed.
	Success
	// Failure means the container failed, or could not be probed (no
	// handler, unknown port, no pod IP), which Kubernetes counts the same.
	Failure
)

// String returns "unknown", "success" or "failure".
func (r Result) String() string {
	switch r {
	case Success:
		return "success"
	case Failure:
		return "failure"
	default:
		return "unknown"
	}
}

// Target is the container a probe checks.
type Target struct {
	// PodIP is the host of httpGet and tcpSocket probes that name none.
	PodIP string
	// Ports maps the container's named ports to numbers, for probes that
	// give their port by name.
	Ports map[string]int32
	// Exec runs cmd in the container's environment and returns its
	// combined output and exit code; err is for failing to run it at all.
	// It should stop the command when ctx ends; Run stops waiting for it
	// then either way.
	Exec func(ctx context.Context, cmd []string) (output []byte, exitCode int, err error)
}

// The probe defaults Kubernetes applies; Run and Worker apply them to
// zero fields too, for probes that bypassed API defaulting.
const (
	defaultTimeout          = time.Second
	defaultPeriod           = 10 * time.Second
	defaultSuccessThreshold = 1
	defaultFailureThreshold = 3
	// maxBodyInMessage bounds how much of a failed HTTP response a
	// message quotes.
	maxBodyInMessage = 1024
)

// Run performs the probe p against t once, within p.timeoutSeconds
// (default 1), and says why it failed. A nil probe succeeds, as a container
// without a probe is healthy. When ctx ends first the result is Unknown.
func Run(ctx context.Context, p *v1.Probe, t Target) (Result, string) {
	if p == nil {
		return Success, ""
	}
	what, check, err := handler(p, t)
	if err != nil {
		return Failure, err.Error()
	}
	timeout := seconds(p.TimeoutSeconds, defaultTimeout)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type outcome struct {
		ok  bool
		msg string
	}
	// The check runs apart so that a handler that ignores its context
	// (an Exec seam, a server that accepts and never answers) still cannot
	// hold the probe past its timeout.
	done := make(chan outcome, 1)
	go func() {
		ok, msg := check(pctx)
		done <- outcome{ok, msg}
	}()
	select {
	case o := <-done:
		switch {
		case ctx.Err() != nil:
			return Unknown, fmt.Sprintf("prober: %s: abandoned: %v", what, context.Cause(ctx))
		case pctx.Err() != nil:
			return Failure, fmt.Sprintf("prober: %s: timed out after %v", what, timeout)
		case o.ok:
			return Success, ""
		}
		return Failure, fmt.Sprintf("prober: %s: %s", what, o.msg)
	case <-pctx.Done():
		if ctx.Err() != nil {
			return Unknown, fmt.Sprintf("prober: %s: abandoned: %v", what, context.Cause(ctx))
		}
		return Failure, fmt.Sprintf("prober: %s: timed out after %v", what, timeout)
	}
}

// checkFunc performs one check; msg says why it failed.
type checkFunc func(ctx context.Context) (ok bool, msg string)

// handler picks the probe's check and names it for messages.
func handler(p *v1.Probe, t Target) (string, checkFunc, error) {
	switch {
	case p.Exec != nil:
		return execCheck(p.Exec, t)
	case p.HTTPGet != nil:
		return httpCheck(p.HTTPGet, t)
	case p.TCPSocket != nil:
		return tcpCheck(p.TCPSocket, t)
	}
	return "", nil, errors.New("prober: probe has no supported handler (exec, httpGet or tcpSocket)")
}

func execCheck(a *v1.ExecAction, t Target) (string, checkFunc, error) {
	what := fmt.Sprintf("exec %q", a.Command)
	if len(a.Command) == 0 {
		return "", nil, errors.New("prober: exec.command: required")
	}
	if t.Exec == nil {
		return "", nil, fmt.Errorf("prober: %s: the runtime cannot run commands in this container", what)
	}
	return what, func(ctx context.Context) (bool, string) {
		out, code, err := t.Exec(ctx, a.Command)
		if err != nil {
			return false, err.Error()
		}
		if code != 0 {
			return false, fmt.Sprintf("exit code %d: %s", code, quote(out))
		}
		return true, ""
	}, nil
}

func httpCheck(a *v1.HTTPGetAction, t Target) (string, checkFunc, error) {
	addr, err := address(a.Host, a.Port, t, "httpGet")
	if err != nil {
		return "", nil, err
	}
	u, err := url.Parse(cmp.Or(a.Path, "/"))
	if err != nil {
		return "", nil, fmt.Errorf("prober: httpGet.path %q: %w", a.Path, err)
	}
	u.Scheme, u.Host = strings.ToLower(string(cmp.Or(a.Scheme, v1.URISchemeHTTP))), addr
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
	}
	what := "httpGet " + u.String()
	return what, func(ctx context.Context) (bool, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return false, err.Error()
		}
		req.Header.Set("User-Agent", "kennel-probe")
		req.Header.Set("Accept", "*/*")
		for _, h := range a.HTTPHeaders {
			if strings.EqualFold(h.Name, "Host") {
				req.Host = h.Value
				continue
			}
			req.Header.Add(h.Name, h.Value)
		}
		resp, err := probeClient().Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyInMessage))
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return false, fmt.Sprintf("status %d: %s", resp.StatusCode, quote(body))
		}
		return true, ""
	}, nil
}

// probeClient is a fresh client per probe: no connection reuse (each probe
// checks that the server accepts connections), no proxy, no certificate
// verification (containers serve self-signed certificates), and redirects
// followed only on the same host, as Kubernetes does; a redirect elsewhere
// counts by its own 3xx status.
func probeClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 || req.URL.Host != via[0].URL.Host {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

func tcpCheck(a *v1.TCPSocketAction, t Target) (string, checkFunc, error) {
	addr, err := address(a.Host, a.Port, t, "tcpSocket")
	if err != nil {
		return "", nil, err
	}
	return "tcpSocket " + addr, func(ctx context.Context) (bool, string) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	}, nil
}

// address is host:port of an httpGet or tcpSocket probe: host defaults to
// the pod IP, a port name is looked up among the container's ports.
func address(host string, port intstr.IntOrString, t Target, field string) (string, error) {
	host = cmp.Or(host, t.PodIP)
	if host == "" {
		return "", fmt.Errorf("prober: %s.host: empty and the pod has no IP yet", field)
	}
	n := port.IntVal
	if port.Type == intstr.String {
		named, ok := t.Ports[port.StrVal]
		if !ok {
			return "", fmt.Errorf("prober: %s.port: the container has no port named %q", field, port.StrVal)
		}
		n = named
	}
	if n < 1 || n > 65535 {
		return "", fmt.Errorf("prober: %s.port: %d is not a port number", field, n)
	}
	return net.JoinHostPort(host, strconv.Itoa(int(n))), nil
}

// seconds converts a probe's seconds field, 0 meaning def.
func seconds(s int32, def time.Duration) time.Duration {
	if s <= 0 {
		return def
	}
	return time.Duration(s) * time.Second
}

// quote trims command output or a response body for a message.
func quote(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > maxBodyInMessage {
		s = s[:maxBodyInMessage] + "…"
	}
	return strconv.Quote(s)
}
