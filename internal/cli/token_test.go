package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kennel-dev/kennel/internal/cli"
)

// newToken runs token create and returns the token it printed.
func newToken(t *testing.T, e *env, args ...string) string {
	t.Helper()
	r := e.run(append([]string{"token", "create"}, args...)...)
	if r.code != 0 {
		t.Fatalf("token create %v: exit %d: %s", args, r.code, r.err)
	}
	tok := strings.TrimSpace(r.out)
	if tok == "" || strings.Contains(tok, "\n") || strings.Contains(tok, " ") {
		t.Fatalf("token create printed more than a token: %q", r.out)
	}
	wantContains(t, "token create stderr", r.err, "not be shown again")
	return tok
}

func TestTokenRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	viewer := newToken(t, e, "--role", "viewer", "--description", "read only", "--ttl", "1h")
	node := newToken(t, e, "--role", "node", "--node", "n1")
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"

	list := e.mustRun("token", "list")
	wantContains(t, "token list", list, "ID", "ROLE", "NODE", "CREATED", "EXPIRES", "DESCRIPTION",
		"viewer", "read only", "node", "n1", "admin", "never")

	cases := []struct {
		name  string
		token string
		args  []string
		stdin string
		want  string // "" means allowed, else a word of the error
	}{
		{"admin applies", "", []string{"apply", "-f", "-"}, cm, ""},
		{"viewer gets", viewer, []string{"get", "cm", "c"}, "", ""},
		{"viewer describes", viewer, []string{"describe", "cm", "c"}, "", ""},
		{"viewer cannot apply", viewer, []string{"apply", "-f", "-"}, strings.Replace(cm, "{name: c}", "{name: from-viewer}", 1), "forbidden"},
		{"viewer cannot delete", viewer, []string{"delete", "cm", "c"}, "", "forbidden"},
		{"viewer cannot create tokens", viewer, []string{"token", "create", "--role", "admin"}, "", "forbidden"},
		{"node gets", node, []string{"get", "cm"}, "", ""},
		{"node cannot apply", node, []string{"apply", "-f", "-"}, strings.Replace(cm, "{name: c}", "{name: from-node}", 1), "forbidden"},
		{"bad token", "abc.def", []string{"get", "cm"}, "", "unauthorized"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.token != "" {
				args = append([]string{"--token", c.token}, args...)
			}
			r := e.runIn(c.stdin, args...)
			switch {
			case c.want == "" && r.code != 0:
				t.Errorf("exit %d, want success: %s", r.code, r.err)
			case c.want != "" && r.code == 0:
				t.Errorf("succeeded, want %s: %s", c.want, r.out)
			case c.want != "" && !strings.Contains(strings.ToLower(r.err), c.want):
				t.Errorf("stderr %q does not mention %q", r.err, c.want)
			}
		})
	}

	id, _, _ := strings.Cut(viewer, ".")
	wantLines(t, "token delete", e.mustRun("token", "delete", id), "token/"+id+" deleted")
	wantContains(t, "revoked token", strings.ToLower(e.mustFail("--token", viewer, "get", "cm")), "unauthorized")
	wantContains(t, "bad role", e.mustFail("token", "create", "--role", "root"), "role")
}

func TestVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wantLines(t, "version --client", e.mustRun("version", "--client"), "Client Version: v0.0.0-test")
	wantContains(t, "version", e.mustRun("version"), "Client Version: v0.0.0-test", "Server Version: ")
}

func TestNoClusterConfigured(t *testing.T) {
	t.Parallel()
	var out, errOut strings.Builder
	missing := filepath.Join(t.TempDir(), "none")
	code := runCommand(t.Context(), strings.NewReader(""), &out, &errOut, []string{"--config", missing, "get", "pods"})
	want := `error: no Kennel cluster configured: run "kennel up" first, or pass --server and --token`
	if code == 0 || strings.TrimSpace(errOut.String()) != want {
		t.Errorf("exit %d, stderr %q; want %q", code, errOut.String(), want)
	}
}

func TestServerFlagsOverrideConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ca := writeFile(t, t.TempDir(), "ca.pem", string(e.tc.CA))
	missing := filepath.Join(t.TempDir(), "none")
	var out, errOut strings.Builder
	code := runCommand(t.Context(), strings.NewReader(""), &out, &errOut, []string{"--config", missing,
		"--server", e.tc.Server.URL(), "--token", e.tc.AdminToken, "--certificate-authority", ca, "get", "ns", "default", "-o", "name"})
	if code != 0 || strings.TrimSpace(out.String()) != "namespace/default" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

func TestCompletionBash(t *testing.T) {
	t.Parallel()
	var out, errOut strings.Builder
	code := runCommand(t.Context(), strings.NewReader(""), &out, &errOut, []string{"completion", "bash"})
	if code != 0 || !strings.Contains(out.String(), "__start_kennel") {
		t.Errorf("completion bash: exit %d, %d bytes, stderr %q", code, out.Len(), errOut.String())
	}
	for _, sh := range []string{"zsh", "fish", "powershell"} {
		out.Reset()
		if code := runCommand(t.Context(), strings.NewReader(""), &out, &errOut, []string{"completion", sh}); code != 0 || out.Len() == 0 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, code, out.Len())
		}
	}
}

// TestCommandsAreDocumented checks that every command says what it does
// and shows an example.
func TestCommandsAreDocumented(t *testing.T) {
	t.Parallel()
	extra := &cobra.Command{Use: "up", Short: "run a cluster", Example: "kennel up"}
	root := cli.NewRootCommand(cli.Streams{}, extra)
	if !hasCommand(root, "up") {
		t.Errorf("extra command not added to the root")
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" || c.Example == "" {
			t.Errorf("%q has no Short or no Example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			if sub.Name() != "help" {
				walk(sub)
			}
		}
	}
	walk(root)
}

func hasCommand(root *cobra.Command, name string) bool {
	for _, c := range root.Commands() {
		if c.Name() == name {
			return true
		}
	}
	return false
}
