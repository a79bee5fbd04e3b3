package cli_test

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

func TestSecretsRotateKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if _, err := client.For[*v1.Secret](e.tc.Admin, "default").Create(ctx, &v1.Secret{
			ObjectMeta: v1.ObjectMeta{Name: name}, StringData: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	out := e.mustRun("secrets", "rotate-key")
	m := regexp.MustCompile(`^rotated: 2 secrets re-encrypted with key (\S+)\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("rotate-key printed %q", out)
	}
	raw, err := e.tc.Store.Get(ctx, e.tc.Store.Prefix()+"/secrets/default/a")
	if err != nil || !bytes.HasPrefix(raw.Value, []byte("k8s:enc:aesgcm:v1:"+m[1]+":")) {
		t.Fatalf("secret a after rotation: %v %q", err, raw.Value[:min(60, len(raw.Value))])
	}
	viewer := newToken(t, e, "--role", "viewer")
	wantContains(t, "viewer rotate-key", e.mustFail("--token", viewer, "secrets", "rotate-key"), "forbidden")
}
