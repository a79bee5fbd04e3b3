package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/cli"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// env is a running control plane and a client config file naming it.
type env struct {
	t      *testing.T
	tc     *testcluster.Cluster
	config string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	tc := testcluster.Start(t)
	path := filepath.Join(t.TempDir(), "config")
	f := &client.File{}
	f.Upsert(client.Context{Name: "test", Server: tc.Server.URL(), CertificateAuthorityData: tc.CA, Token: tc.AdminToken})
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, tc: tc, config: path}
}

// result is what one command printed and its exit code.
type result struct {
	out, err string
	code     int
}

// run runs the kennel command line args against the env's cluster.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runIn("", args...)
}

// runIn is run with stdin.
func (e *env) runIn(stdin string, args ...string) result {
	e.t.Helper()
	var out, errOut bytes.Buffer
	code := runCommand(context.Background(), strings.NewReader(stdin), &out, &errOut, append([]string{"--config", e.config}, args...))
	return result{out: out.String(), err: errOut.String(), code: code}
}

func runCommand(ctx context.Context, in *strings.Reader, out, errOut interface{ Write([]byte) (int, error) }, args []string) int {
	root := cli.New(cli.Options{Streams: cli.Streams{In: in, Out: out, Err: errOut}, Version: "v0.0.0-test"})
	root.SetArgs(args)
	return cli.ExecuteContext(ctx, root, errOut)
}

// mustRun runs a command that must succeed.
func (e *env) mustRun(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("kennel %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// mustFail runs a command that must fail, and returns its stderr.
func (e *env) mustFail(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code == 0 {
		e.t.Fatalf("kennel %s: succeeded, want failure\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.out, r.err)
	}
	return r.err
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

func wantLines(t *testing.T, what, got string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", what, strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func configMap(name string) *v1.ConfigMap {
	return &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"}}
}
