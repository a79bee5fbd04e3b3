package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// newAgentEnv is an env with a fake agent registered as node n1 and pods
// bound to it: web (container c) and duo (containers a and b) in default,
// and web (container c) in namespace shop.
func newAgentEnv(t *testing.T) (*env, *testcluster.CannedAgent) {
	t.Helper()
	e := newEnv(t)
	ctx := e.ctx()
	agent := testcluster.NewCannedAgent()
	e.tc.RegisterNode(ctx, "n1", e.tc.StartFakeAgent(agent))
	if _, err := client.For[*v1.Namespace](e.tc.Admin, "").Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: "shop"}}); err != nil {
		t.Fatal(err)
	}
	pod := func(ns, name string, containers ...string) {
		p := &v1.Pod{ObjectMeta: v1.ObjectMeta{Name: name}, Spec: v1.PodSpec{NodeName: "n1"}}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, v1.Container{Name: c, Command: []string{"sleep", "1"}})
		}
		if _, err := client.For[*v1.Pod](e.tc.Admin, ns).Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	pod("default", "web", "c")
	pod("default", "duo", "a", "b")
	pod("shop", "web", "c")
	return e, agent
}

func TestLogsCommand(t *testing.T) {
	e, _ := newAgentEnv(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"logs", "web"}, "default/web/c tailLines= previous="},
		{[]string{"logs", "web", "--tail", "7", "--previous"}, "default/web/c tailLines=7 previous=true"},
		{[]string{"logs", "duo", "-c", "b", "-p"}, "default/duo/b tailLines= previous=true"},
		{[]string{"logs", "-n", "shop", "web", "--tail=0"}, "shop/web/c tailLines=0 previous="},
	}
	for _, c := range cases {
		wantLines(t, strings.Join(c.args, " "), e.mustRun(c.args...), c.want)
	}
	wantContains(t, "logs duo", e.mustFail("logs", "duo"),
		"error: a container name must be specified for pod duo, choose one of: [a b]")
	wantContains(t, "logs nope", e.mustFail("logs", "nope"), `error: pod "nope" not found`)
	wantContains(t, "logs --tail -2", e.mustFail("logs", "web", "--tail", "-2"), "--tail -2")
}

func TestLogsFollowStreamsUntilInterrupted(t *testing.T) {
	e, agent := newAgentEnv(t)
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	var out, errOut testcluster.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runCommand(ctx, strings.NewReader(""), &out, &errOut, []string{"--config", e.config, "logs", "web", "-f"})
	}()
	first := "default/web/c tailLines= previous=\n"
	testcluster.Eventually(t, 10*time.Second, "the first log line", func() bool { return out.String() == first })
	close(agent.Release)
	testcluster.Eventually(t, 10*time.Second, "the second log line", func() bool { return out.String() == first+"second line\n" })
	interrupt() // what Ctrl-C does to the command's context
	select {
	case code := <-done:
		if code != 0 || errOut.String() != "" {
			t.Fatalf("interrupted follow: exit %d, stderr %q; want a clean exit", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("logs -f did not end when interrupted")
	}
	select {
	case <-agent.FollowEnded:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent's log request outlived the command")
	}
}

func TestExecCommand(t *testing.T) {
	e, _ := newAgentEnv(t)
	r := e.run("exec", "duo", "-c", "a", "--", "ls", "-l", "/data")
	if r.code != 3 || r.out != "ls -l /data\n" || r.err != "to stderr\n" {
		t.Fatalf("exec: exit %d, stdout %q, stderr %q; want the command's output and its exit code 3, no error line", r.code, r.out, r.err)
	}
	r = e.run("exec", "-n", "shop", "web", "--", "id")
	if r.code != 3 || r.out != "id\n" {
		t.Fatalf("exec -n shop: exit %d, stdout %q", r.code, r.out)
	}
	wantContains(t, "exec fail", e.mustFail("exec", "web", "--", "fail"), "error: ", "executable file not found")
	wantContains(t, "exec duo", e.mustFail("exec", "duo", "--", "id"), "choose one of: [a b]")
	wantContains(t, "exec without --", e.mustFail("exec", "web", "id"), `put the command after "--"`)
	wantContains(t, "exec without a command", e.mustFail("exec", "web", "--"), `no command after "--"`)
}
