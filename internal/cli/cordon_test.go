package cli_test

import (
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// addNode registers a node as its agent would.
func (e *env) addNode(name string) {
	e.t.Helper()
	if _, err := client.For[*v1.Node](e.tc.Admin, "").Create(e.ctx(), &v1.Node{ObjectMeta: v1.ObjectMeta{Name: name}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) unschedulable(name string) bool {
	e.t.Helper()
	n, err := client.For[*v1.Node](e.tc.Admin, "").Get(e.ctx(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return n.Spec.Unschedulable
}

func TestCordonAndUncordon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addNode("n1")
	e.addNode("n2")

	steps := []struct {
		args   []string
		want   []string
		n1, n2 bool
	}{
		{[]string{"cordon", "n1"}, []string{"node/n1 cordoned"}, true, false},
		{[]string{"cordon", "n1", "n2"}, []string{"node/n1 already cordoned", "node/n2 cordoned"}, true, true},
		{[]string{"uncordon", "n1"}, []string{"node/n1 uncordoned"}, false, true},
		{[]string{"uncordon", "n1", "n2"}, []string{"node/n1 already uncordoned", "node/n2 uncordoned"}, false, false},
	}
	for _, s := range steps {
		wantLines(t, "kennel "+s.args[0], e.mustRun(s.args...), s.want...)
		if got := e.unschedulable("n1"); got != s.n1 {
			t.Errorf("after %v: n1 unschedulable = %v, want %v", s.args, got, s.n1)
		}
		if got := e.unschedulable("n2"); got != s.n2 {
			t.Errorf("after %v: n2 unschedulable = %v, want %v", s.args, got, s.n2)
		}
	}
	wantContains(t, "cordon of a missing node", e.mustFail("cordon", "nope"), "not found")
	e.mustFail("uncordon")
}

func TestNodeCommandsHaveExamples(t *testing.T) {
	t.Parallel()
	e := &env{t: t, config: "/nonexistent"}
	for _, cmd := range []string{"cordon", "uncordon", "drain"} {
		wantContains(t, cmd+" --help", e.mustRun(cmd, "--help"), "Examples:", "kennel "+cmd+" n2")
	}
}
