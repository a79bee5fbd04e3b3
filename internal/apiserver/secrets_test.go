package apiserver_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/store"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// plaintext is a secret value no stored byte, log line or error may hold.
const plaintext = "correct-horse-battery-staple"

func secretKey(st *store.Store, ns, name string) string {
	return st.Prefix() + "/secrets/" + ns + "/" + name
}

// wantNoPlaintext fails if b holds the secret value, plain or base64.
func wantNoPlaintext(t *testing.T, what string, b []byte) {
	t.Helper()
	if bytes.Contains(b, []byte(plaintext)) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString([]byte(plaintext)))) {
		t.Fatalf("%s holds the secret value: %q", what, b)
	}
}

func createSecret(t *testing.T, ctx context.Context, c *client.Client, name string) *v1.Secret {
	t.Helper()
	s, err := client.For[*v1.Secret](c, "default").Create(ctx, &v1.Secret{
		ObjectMeta: v1.ObjectMeta{Name: name}, StringData: map[string]string{"password": plaintext}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSecretsAreEncryptedAtRestAndNeverLogged(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys")
	logs := &testcluster.SyncBuffer{}
	tc := testcluster.StartWith(t, func(c *apiserver.Config) {
		c.EncryptionKeyFile = keyFile
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := ctxT(t)
	secrets := client.For[*v1.Secret](tc.Admin, "default")
	s := createSecret(t, ctx, tc.Admin, "db")

	raw, err := tc.Store.Get(ctx, secretKey(tc.Store, "default", "db"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw.Value, []byte("k8s:enc:aesgcm:v1:")) {
		t.Fatalf("stored secret is not in the envelope format: %q", raw.Value[:min(40, len(raw.Value))])
	}
	wantNoPlaintext(t, "the raw etcd value", raw.Value)
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode())
	}

	// A bad update and a bad create are refused without echoing the value.
	s.Data["bad key!"] = []byte(plaintext)
	_, err = secrets.Update(ctx, s)
	if !v1.IsInvalid(err) {
		t.Fatalf("update with a bad key: %v, want Invalid", err)
	}
	wantNoPlaintext(t, "the update error", []byte(err.Error()))
	big := strings.Repeat("x", 1<<20) + plaintext
	_, err = secrets.Create(ctx, &v1.Secret{ObjectMeta: v1.ObjectMeta{Name: "big"}, StringData: map[string]string{"a": big}})
	if err == nil {
		t.Fatal("a secret over 1 MiB was accepted")
	}
	wantNoPlaintext(t, "the size error", []byte(err.Error()))

	got, err := secrets.Get(ctx, "db")
	if err != nil || string(got.Data["password"]) != plaintext || len(got.StringData) != 0 {
		t.Fatalf("admin get: %v, %+v", err, got)
	}
	list, err := secrets.List(ctx, client.ListOptions{})
	if err != nil || len(list.Items) != 1 || string(list.Items[0].Data["password"]) != plaintext {
		t.Fatalf("admin list: %v, %+v", err, list)
	}
	wantNoPlaintext(t, "the API server's logs", []byte(logs.String()))

	// A new API server on the same key file reads it; one on another key
	// file refuses to start.
	body := getAsAdmin(t, startServer(t, tc.Store, keyFile), tc.AdminToken, "/api/v1/namespaces/default/secrets/db")
	if !strings.Contains(body, base64.StdEncoding.EncodeToString([]byte(plaintext))) {
		t.Fatalf("restarted server cannot read the secret: %s", body)
	}
	_, err = apiserver.Start(ctx, apiserver.Config{Listen: "127.0.0.1:0", Store: tc.Store, Insecure: true,
		EncryptionKeyFile: filepath.Join(t.TempDir(), "other-keys")})
	if err == nil || !strings.Contains(err.Error(), "the encryption key cannot decrypt stored secrets (wrong --encryption-key-file?)") {
		t.Fatalf("start with a wrong key file: %v", err)
	}
}

func startServer(t *testing.T, st *store.Store, keyFile string) *apiserver.Server {
	t.Helper()
	srv, err := apiserver.Start(ctxT(t), apiserver.Config{Listen: "127.0.0.1:0", Store: st, Insecure: true, EncryptionKeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func getAsAdmin(t *testing.T, srv *apiserver.Server, token, path string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctxT(t), http.MethodGet, srv.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func TestSecretKeyRotation(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys")
	tc := testcluster.StartWith(t, func(c *apiserver.Config) { c.EncryptionKeyFile = keyFile })
	ctx := ctxT(t)
	for _, name := range []string{"a", "b", "c"} {
		createSecret(t, ctx, tc.Admin, name)
	}
	// A secret written before encryption existed is read, and rotated.
	legacy := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"legacy","namespace":"default","uid":"u"},"data":{"k":"` +
		base64.StdEncoding.EncodeToString([]byte("old")) + `"},"type":"Opaque"}`
	if _, err := tc.Store.Create(ctx, secretKey(tc.Store, "default", "legacy"), []byte(legacy)); err != nil {
		t.Fatal(err)
	}
	if s, err := client.For[*v1.Secret](tc.Admin, "default").Get(ctx, "legacy"); err != nil || string(s.Data["k"]) != "old" {
		t.Fatalf("legacy plain secret: %v %+v", err, s)
	}

	viewer := tc.Client(tc.Token(apiserver.RoleViewer, ""))
	if _, err := viewer.Do(ctx, http.MethodPost, apiserver.RotateKeyPath, nil, ""); !v1.IsForbidden(err) {
		t.Fatalf("viewer rotates: %v, want Forbidden", err)
	}
	b, err := tc.Admin.Do(ctx, http.MethodPost, apiserver.RotateKeyPath, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var resp apiserver.RotateKeyResponse
	if err := json.Unmarshal(b, &resp); err != nil || resp.Reencrypted != 4 || resp.Secrets != 4 || resp.Key == "" {
		t.Fatalf("rotation answer %s (%v), want 4 of 4 re-encrypted", b, err)
	}
	for _, name := range []string{"a", "b", "c", "legacy"} {
		raw, err := tc.Store.Get(ctx, secretKey(tc.Store, "default", name))
		if err != nil {
			t.Fatal(err)
		}
		if want := "k8s:enc:aesgcm:v1:" + resp.Key + ":"; !bytes.HasPrefix(raw.Value, []byte(want)) {
			t.Fatalf("secret %s after rotation starts %q, want %q", name, raw.Value[:min(60, len(raw.Value))], want)
		}
		if _, err := client.For[*v1.Secret](tc.Admin, "default").Get(ctx, name); err != nil {
			t.Fatalf("read %s after rotation: %v", name, err)
		}
	}
	keys, _ := os.ReadFile(keyFile)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(keys)), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], resp.Key+" ") {
		t.Fatalf("key file after rotation holds %d keys %q, want only %s", len(lines), lines, resp.Key)
	}
	// The rotated file still reads everything after a restart.
	body := getAsAdmin(t, startServer(t, tc.Store, keyFile), tc.AdminToken, "/api/v1/namespaces/default/secrets/a")
	if !strings.Contains(body, base64.StdEncoding.EncodeToString([]byte(plaintext))) {
		t.Fatalf("restarted server cannot read a rotated secret: %s", body)
	}
}

func TestSecretValuesByRole(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	createSecret(t, ctx, tc.Admin, "used")
	createSecret(t, ctx, tc.Admin, "unused")
	p := pod("app", "n1")
	p.Spec.Containers[0].Env = []v1.EnvVar{{Name: "PW", ValueFrom: &v1.EnvVarSource{
		SecretKeyRef: &v1.SecretKeySelector{LocalObjectReference: v1.LocalObjectReference{Name: "used"}, Key: "password"}}}}
	if _, err := client.For[*v1.Pod](tc.Admin, "default").Create(ctx, p); err != nil {
		t.Fatal(err)
	}

	viewer := client.For[*v1.Secret](tc.Client(tc.Token(apiserver.RoleViewer, "")), "default")
	s, err := viewer.Get(ctx, "used")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Data["password"]; !ok || len(v) != 0 {
		t.Fatalf("viewer get: data %q, want the key with an empty value", s.Data)
	}
	list, err := viewer.List(ctx, client.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("viewer list: %v %+v", err, list)
	}
	for _, item := range list.Items {
		if v, ok := item.Data["password"]; !ok || len(v) != 0 {
			t.Fatalf("viewer list: %s data %q, want the key with an empty value", item.Name, item.Data)
		}
	}
	w, err := viewer.Watch(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	createSecret(t, ctx, tc.Admin, "later")
	deadline := time.After(20 * time.Second)
	for seen := 0; seen < 3; {
		select {
		case ev := <-w.Events():
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			if v := ev.Object.Data["password"]; len(v) != 0 {
				t.Fatalf("viewer watch %s: value %q, want empty", ev.Object.Name, v)
			}
			seen++
		case <-deadline:
			t.Fatal("viewer watch: timed out")
		}
	}

	node := client.For[*v1.Secret](tc.Client(tc.Token(apiserver.RoleNode, "n1")), "default")
	if s, err := node.Get(ctx, "used"); err != nil || string(s.Data["password"]) != plaintext {
		t.Fatalf("node gets a secret its pod uses: %v %+v", err, s)
	}
	if _, err := node.Get(ctx, "unused"); !v1.IsForbidden(err) {
		t.Fatalf("node gets a secret no pod of it uses: %v, want Forbidden", err)
	}
	if _, err := node.List(ctx, client.ListOptions{}); !v1.IsForbidden(err) {
		t.Fatalf("node lists secrets: %v, want Forbidden", err)
	}
	if _, err := node.Watch(ctx, client.ListOptions{}); !v1.IsForbidden(err) {
		t.Fatalf("node watches secrets: %v, want Forbidden", err)
	}
	other := client.For[*v1.Secret](tc.Client(tc.Token(apiserver.RoleNode, "n2")), "default")
	if _, err := other.Get(ctx, "used"); !v1.IsForbidden(err) {
		t.Fatalf("another node gets the secret: %v, want Forbidden", err)
	}
}
