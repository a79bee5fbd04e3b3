package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// agentEnv is a cluster with a fake agent registered as node n1 and pods
// bound to it: web (one container, c), duo (containers a and b), and
// ghost, odd and sick, for which the agent answers 404, 400 and 502.
type agentEnv struct {
	tc    *testcluster.Cluster
	agent *testcluster.CannedAgent
}

func newAgentEnv(t *testing.T) *agentEnv {
	t.Helper()
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	agent := testcluster.NewCannedAgent()
	tc.RegisterNode(ctx, "n1", tc.StartFakeAgent(agent))
	pods := client.For[*v1.Pod](tc.Admin, "default")
	duo := pod("duo", "n1")
	duo.Spec.Containers = []v1.Container{{Name: "a", Command: []string{"sleep", "1"}}, {Name: "b", Command: []string{"sleep", "1"}}}
	for _, p := range []*v1.Pod{pod("web", "n1"), duo, pod("ghost", "n1"), pod("odd", "n1"), pod("sick", "n1"), pod("floating", "")} {
		if _, err := pods.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return &agentEnv{tc: tc, agent: agent}
}

func readLogs(ctx context.Context, c *client.Client, name string, opts client.LogOptions) (string, error) {
	rc, err := c.PodLogs(ctx, "default", name, opts)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func TestPodLogsThroughAgent(t *testing.T) {
	e := newAgentEnv(t)
	ctx := ctxT(t)
	tail := int64(5)
	got, err := readLogs(ctx, e.tc.Admin, "web", client.LogOptions{TailLines: &tail, Previous: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "default/web/c tailLines=5 previous=true\n"; got != want {
		t.Fatalf("logs = %q, want %q (the only container, options passed through)", got, want)
	}
	got, err = readLogs(ctx, e.tc.Admin, "duo", client.LogOptions{Container: "b"})
	if err != nil || got != "default/duo/b tailLines= previous=\n" {
		t.Fatalf("logs of duo/b = %q, %v", got, err)
	}
	agentErrors := []struct {
		pod  string
		code int
		msg  string
	}{
		{"ghost", http.StatusNotFound, "agent on node n1: pod default/ghost is not running on this node"},
		{"odd", http.StatusBadRequest, "agent on node n1: container c has no previous run"},
		{"sick", http.StatusBadGateway, "agent on node n1 answered 502: runtime: not responding"},
	}
	for _, c := range agentErrors {
		_, err := readLogs(ctx, e.tc.Admin, c.pod, client.LogOptions{})
		var apiErr *v1.Error
		if !errors.As(err, &apiErr) || apiErr.Status.Code != c.code || apiErr.Error() != c.msg {
			t.Errorf("logs of %s: %v, want %d %q", c.pod, err, c.code, c.msg)
		}
	}
}

func TestPodLogsFollowStreamsAndEndsUpstream(t *testing.T) {
	e := newAgentEnv(t)
	ctx := ctxT(t)
	rc, err := e.tc.Admin.PodLogs(ctx, "default", "web", client.LogOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(rc)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// The first line arrives while the agent is still holding the second.
	if l := nextLine(t, lines); l != "default/web/c tailLines= previous=" {
		t.Fatalf("first line = %q", l)
	}
	close(e.agent.Release)
	if l := nextLine(t, lines); l != "second line" {
		t.Fatalf("second line = %q", l)
	}
	rc.Close()
	select {
	case <-e.agent.FollowEnded:
	case <-time.After(10 * time.Second):
		t.Fatal("closing the log stream did not end the agent's request")
	}
}

func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("log stream ended early")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no log line within 10s")
	}
	return ""
}

func TestPodExecThroughAgent(t *testing.T) {
	e := newAgentEnv(t)
	ctx := ctxT(t)
	var stdout, stderr bytes.Buffer
	code, err := e.tc.Admin.PodExec(ctx, "default", "duo", client.ExecOptions{Container: "a", Command: []string{"echo", "hello world"}}, &stdout, &stderr)
	if err != nil || code != 3 {
		t.Fatalf("exec = %d, %v; want exit code 3", code, err)
	}
	if stdout.String() != "echo hello world\n" || stderr.String() != "to stderr\n" {
		t.Fatalf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	if _, err := e.tc.Admin.PodExec(ctx, "default", "web", client.ExecOptions{Command: []string{"fail"}}, nil, nil); err == nil || !strings.Contains(err.Error(), "executable file not found") {
		t.Fatalf("exec of a missing program: %v", err)
	}
	stdout.Reset()
	_, err = e.tc.Admin.PodExec(ctx, "default", "web", client.ExecOptions{Command: []string{"break"}}, &stdout, nil)
	if err == nil || !strings.Contains(err.Error(), "agent on node n1: the exec stream ended before the command's exit code") {
		t.Fatalf("exec whose agent stream broke: %v", err)
	}
	if stdout.String() != "partial\n" {
		t.Fatalf("output before the break = %q", stdout.String())
	}
}

func TestPodLogsAndExecAuthorization(t *testing.T) {
	e := newAgentEnv(t)
	ctx := ctxT(t)
	viewer := e.tc.Client(e.tc.Token(apiserver.RoleViewer, ""))
	node := e.tc.Client(e.tc.Token(apiserver.RoleNode, "n1"))
	exec := func(c *client.Client) error {
		_, err := c.PodExec(ctx, "default", "web", client.ExecOptions{Command: []string{"id"}}, nil, nil)
		return err
	}
	logs := func(c *client.Client) error {
		_, err := readLogs(ctx, c, "web", client.LogOptions{})
		return err
	}
	checks := []struct {
		name string
		err  error
		want v1.Reason
	}{
		{"admin logs", logs(e.tc.Admin), ""},
		{"admin exec", exec(e.tc.Admin), ""},
		{"viewer logs", logs(viewer), ""},
		{"viewer exec", exec(viewer), v1.ReasonForbidden},
		{"node logs", logs(node), v1.ReasonForbidden},
		{"node exec", exec(node), v1.ReasonForbidden},
	}
	for _, c := range checks {
		if got := v1.ReasonOf(c.err); got != c.want || (c.want == "" && c.err != nil) {
			t.Errorf("%s: %v (%q), want %q", c.name, c.err, got, c.want)
		}
	}
}

func TestPodLogsResolveErrors(t *testing.T) {
	e := newAgentEnv(t)
	ctx := ctxT(t)
	nodes := client.For[*v1.Node](e.tc.Admin, "")
	// n2's agent presents a certificate other than the one pinned; n3
	// pins nothing; n4's agent is gone.
	n2 := e.tc.RegisterNode(ctx, "n2", e.tc.StartFakeAgent(testcluster.NewCannedAgent()))
	n2.Annotations[v1.AnnotationAgentCertSHA256] = strings.Repeat("ab", 32)
	if _, err := nodes.Update(ctx, n2); err != nil {
		t.Fatal(err)
	}
	n3 := e.tc.RegisterNode(ctx, "n3", e.tc.StartFakeAgent(testcluster.NewCannedAgent()))
	delete(n3.Annotations, v1.AnnotationAgentCertSHA256)
	if _, err := nodes.Update(ctx, n3); err != nil {
		t.Fatal(err)
	}
	gone := e.tc.StartFakeAgent(testcluster.NewCannedAgent())
	e.tc.RegisterNode(ctx, "n4", gone)
	gone.Server.Close()
	for _, n := range []string{"n2", "n3", "n4"} {
		if _, err := client.For[*v1.Pod](e.tc.Admin, "default").Create(ctx, pod("on-"+n, n)); err != nil {
			t.Fatal(err)
		}
	}
	bad := int64(-1)
	cases := []struct {
		pod   string
		opts  client.LogOptions
		want  v1.Reason
		words []string
	}{
		{"nope", client.LogOptions{}, v1.ReasonNotFound, []string{`pod "nope" not found`}},
		{"duo", client.LogOptions{}, v1.ReasonBadRequest, []string{"a container name must be specified for pod duo, choose one of: [a b]"}},
		{"duo", client.LogOptions{Container: "z"}, v1.ReasonBadRequest, []string{"container z is not valid for pod duo", "[a b]"}},
		{"floating", client.LogOptions{}, v1.ReasonBadRequest, []string{"pod floating is not bound to a node"}},
		{"web", client.LogOptions{TailLines: &bad}, v1.ReasonBadRequest, []string{`tailLines "-1" must be a non-negative integer`}},
		{"on-n2", client.LogOptions{}, v1.ReasonUnavailable, []string{"agent on node n2", "is not the one the node registered", "certificate has SHA-256", "pins abab"}},
		{"on-n3", client.LogOptions{}, v1.ReasonUnavailable, []string{"node n3", v1.AnnotationAgentCertSHA256, "missing"}},
		{"on-n4", client.LogOptions{}, v1.ReasonUnavailable, []string{"agent on node n4 at 127.0.0.1:", "unreachable"}},
	}
	for _, c := range cases {
		_, err := readLogs(ctx, e.tc.Admin, c.pod, c.opts)
		if v1.ReasonOf(err) != c.want {
			t.Errorf("logs of %s %+v: %v, want %s", c.pod, c.opts, err, c.want)
			continue
		}
		for _, w := range c.words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("logs of %s: %q does not say %q", c.pod, err, w)
			}
		}
	}
	if _, err := e.tc.Admin.PodExec(ctx, "default", "duo", client.ExecOptions{Command: []string{"id"}}, nil, nil); v1.ReasonOf(err) != v1.ReasonBadRequest || !strings.Contains(err.Error(), "[a b]") {
		t.Errorf("exec in duo without a container: %v", err)
	}
	if _, err := e.tc.Admin.Do(ctx, http.MethodPost, "/api/v1/namespaces/default/pods/web/exec", nil, ""); v1.ReasonOf(err) != v1.ReasonBadRequest || !strings.Contains(err.Error(), "command") {
		t.Errorf("exec without a command: %v", err)
	}
	if _, err := e.tc.Admin.Do(ctx, http.MethodGet, "/api/v1/namespaces/default/pods/web/exec", nil, ""); v1.ReasonOf(err) != v1.ReasonMethodNotAllowed {
		t.Errorf("GET exec: %v, want MethodNotAllowed", err)
	}
	if _, err := e.tc.Admin.Do(ctx, http.MethodPut, "/api/v1/namespaces/default/pods/web/log", []byte(`{}`), ""); v1.ReasonOf(err) != v1.ReasonMethodNotAllowed {
		t.Errorf("PUT log: %v, want MethodNotAllowed", err)
	}
}

// TestFakeAgentRequiresClusterClientCert checks that the fake agent holds
// to the agent's side of the contract, so the tests above prove that the
// API server presents the right certificate.
func TestFakeAgentRequiresClusterClientCert(t *testing.T) {
	tc := testcluster.Start(t)
	agent := tc.StartFakeAgent(testcluster.NewCannedAgent())
	selfSigned, err := testcluster.SelfSignedClientCert(v1.AgentProxyClientCN)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		certs []tls.Certificate
		want  int // 0: the connection fails
	}{
		{"no client certificate", nil, 0},
		{"self-signed " + v1.AgentProxyClientCN, []tls.Certificate{selfSigned}, 0},
		{"cluster CA, other CommonName", []tls.Certificate{tc.IssueClientCert("someone")}, http.StatusForbidden},
		{"cluster CA, " + v1.AgentProxyClientCN, []tls.Certificate{tc.IssueClientCert(v1.AgentProxyClientCN)}, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hc := &http.Client{Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: c.certs},
			}}
			defer hc.CloseIdleConnections()
			resp, err := hc.Get(agent.Server.URL + "/containerLogs/default/web/c")
			if c.want == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("request answered %s, want a refused connection", resp.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
}

func TestDeletePodDefaultsToItsGracePeriod(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	pods := client.For[*v1.Pod](tc.Admin, "default")
	grace := func(n int64) *int64 { return &n }
	cases := []struct {
		name      string
		node      string
		spec      *int64 // spec.terminationGracePeriodSeconds
		deleteArg *int64 // the delete's gracePeriodSeconds
		want      int64  // 0: deleted at once
	}{
		{"spec grace", "n1", grace(5), nil, 5},
		{"default grace", "n1", nil, nil, v1.DefaultTerminationGracePeriodSeconds},
		{"explicit grace wins", "n1", grace(5), grace(12), 12},
		{"spec grace zero waits for the node", "n1", grace(0), nil, 1},
		{"explicit zero forces", "n1", grace(5), grace(0), 0},
		{"unbound pod", "", grace(5), nil, 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pod("g"+string(rune('a'+i)), c.node)
			p.Spec.TerminationGracePeriodSeconds = c.spec
			if _, err := pods.Create(ctx, p); err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			if _, err := pods.Delete(ctx, p.Name, client.DeleteOptions{GracePeriodSeconds: c.deleteArg}); err != nil {
				t.Fatal(err)
			}
			got, err := pods.Get(ctx, p.Name)
			if c.want == 0 {
				if !v1.IsNotFound(err) {
					t.Fatalf("pod still there (%v), want it deleted at once", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := got.DeletionGracePeriodSeconds; g == nil || *g != c.want {
				t.Fatalf("deletionGracePeriodSeconds = %v, want %d", g, c.want)
			}
			at := got.DeletionTimestamp.Time
			if lo, hi := before.Add(time.Duration(c.want-1)*time.Second), time.Now().Add(time.Duration(c.want+1)*time.Second); at.Before(lo) || at.After(hi) {
				t.Fatalf("deletionTimestamp %v is not about %ds after the delete", at, c.want)
			}
		})
	}
}
