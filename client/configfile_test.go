package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigFileContexts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config")
	f, err := LoadFile(path)
	if err != nil || len(f.Contexts) != 0 {
		t.Fatalf("missing file: %+v %v", f, err)
	}
	if _, err := f.Context(""); err == nil || !strings.Contains(err.Error(), "kennel up") {
		t.Fatalf("empty config: %v, want a hint to run kennel up", err)
	}
	f.Upsert(Context{Name: "kennel", Server: "https://127.0.0.1:6443", Token: "a.b", CertificateAuthorityData: []byte("PEM")})
	f.Upsert(Context{Name: "fed", Server: "https://127.0.0.1:7443", Token: "c.d"})
	f.Upsert(Context{Name: "kennel", Server: "https://127.0.0.1:6444", Token: "e.f"})
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode %v (%v), want 0600: it holds tokens", st.Mode(), err)
	}
	g, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := g.Context("")
	if err != nil || cur.Name != "kennel" || cur.Server != "https://127.0.0.1:6444" || len(g.Contexts) != 2 {
		t.Fatalf("current context %+v (%v) of %d", cur, err, len(g.Contexts))
	}
	fed, err := g.Context("fed")
	if err != nil || fed.Config().Token != "c.d" {
		t.Fatalf("named context: %+v %v", fed, err)
	}
	if _, err := g.Context("nope"); err == nil {
		t.Fatal("unknown context accepted")
	}
	os.WriteFile(path, []byte("contexts: []\nbogus: 1\n"), 0o600)
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown field in config: %v", err)
	}
}

func TestHomeAndConfigPathFromEnvironment(t *testing.T) {
	t.Setenv("KENNEL_HOME", "/srv/kennel")
	t.Setenv("KENNEL_CONFIG", "")
	if Home() != "/srv/kennel" || DefaultConfigPath() != "/srv/kennel/config" {
		t.Fatalf("home %s config %s", Home(), DefaultConfigPath())
	}
	t.Setenv("KENNEL_CONFIG", "/etc/kennel.yaml")
	if DefaultConfigPath() != "/etc/kennel.yaml" {
		t.Fatalf("config %s", DefaultConfigPath())
	}
}

func TestDecodeErrorKeepsServerStatus(t *testing.T) {
	err := decodeError(409, []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Conflict","message":"stale","code":409}`))
	if err.Error() != "stale" {
		t.Fatalf("message %q", err)
	}
	err = decodeError(502, []byte("bad gateway"))
	if !strings.Contains(err.Error(), "502") {
		t.Fatalf("non-Status body: %v", err)
	}
}
