package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kennel-dev/kennel/client"
)

// A config file with several contexts: the current one is used unless
// --context names another; KENNEL_CONFIG, then KENNEL_HOME, find the file.
func TestContextsAndConfigLookup(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "config")
	f := &client.File{}
	f.Upsert(client.Context{Name: "elsewhere", Server: "https://127.0.0.1:1", Token: "abcdef.0123456789abcdef"})
	f.Upsert(client.Context{Name: "here", Server: e.tc.Server.URL(), CertificateAuthorityData: e.tc.CA, Token: e.tc.AdminToken})
	f.CurrentContext = "elsewhere"
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, string, int) {
		var out, errOut strings.Builder
		code := runCommand(t.Context(), strings.NewReader(""), &out, &errOut, args)
		return out.String(), errOut.String(), code
	}
	if _, errOut, code := run("--config", path, "get", "ns"); code == 0 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Fatalf("current context elsewhere: exit %d, stderr %q", code, errOut)
	}
	if out, errOut, code := run("--config", path, "--context", "here", "get", "ns", "default", "-o", "name"); code != 0 || strings.TrimSpace(out) != "namespace/default" {
		t.Fatalf("--context here: exit %d, %q %q", code, out, errOut)
	}
	if _, errOut, code := run("--config", path, "--context", "nope", "get", "ns"); code == 0 || !strings.Contains(errOut, "nope") {
		t.Fatalf("unknown context: exit %d, stderr %q", code, errOut)
	}

	f.CurrentContext = "here"
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KENNEL_CONFIG", path)
	if out, errOut, code := run("get", "ns", "default", "-o", "name"); code != 0 || strings.TrimSpace(out) != "namespace/default" {
		t.Fatalf("KENNEL_CONFIG: exit %d, %q %q", code, out, errOut)
	}
	home := t.TempDir()
	if err := f.Save(filepath.Join(home, "config")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KENNEL_CONFIG", "")
	t.Setenv("KENNEL_HOME", home)
	if out, errOut, code := run("get", "ns", "default", "-o", "name"); code != 0 || strings.TrimSpace(out) != "namespace/default" {
		t.Fatalf("KENNEL_HOME: exit %d, %q %q", code, out, errOut)
	}
}
