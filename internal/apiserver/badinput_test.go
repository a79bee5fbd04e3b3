package apiserver_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

func TestBadInputIsRejectedAndNothingStored(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"` + strings.Repeat("x", 2<<20) + `"}}`
	tests := []struct {
		name     string
		path     string
		body     string
		wantCode int
		wantMsg  string
	}{
		{"malformed json", "/api/v1/namespaces/default/configmaps", `{"apiVersion":"v1",`, 400, ""},
		{"unknown field", "/api/v1/namespaces/default/pods",
			`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","command":["x"],"foo":1}]}}`,
			0, "spec.containers[0].foo"},
		{"invalid name", "/api/v1/namespaces/default/configmaps",
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}`, 422, "metadata.name"},
		{"unknown resource", "/api/v1/namespaces/default/widgets", `{"kind":"Widget"}`, 404, "widgets"},
		{"kind does not match url", "/api/v1/namespaces/default/configmaps",
			`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}`, 400, "Secret"},
		{"wrong apiVersion", "/api/v1/namespaces/default/configmaps",
			`{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"w"}}`, 0, "apps/v1"},
		{"oversized", "/api/v1/namespaces/default/configmaps", big, 413, "limit"},
		{"empty body", "/api/v1/namespaces/default/configmaps", ``, 400, "empty"},
		{"missing container name", "/api/v1/namespaces/default/pods",
			`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"command":["x"]}]}}`, 422, "spec.containers[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tc.Admin.Do(ctx, http.MethodPost, tt.path, []byte(tt.body), "")
			var apiErr *v1.Error
			if err == nil || !asAPIError(err, &apiErr) {
				t.Fatalf("got %v, want an API error", err)
			}
			code := apiErr.Status.Code
			if code < 400 || code >= 500 || (tt.wantCode != 0 && code != tt.wantCode) {
				t.Fatalf("code %d (%s), want %d", code, apiErr.Status.Message, tt.wantCode)
			}
			if !strings.Contains(apiErr.Status.Message, tt.wantMsg) {
				t.Fatalf("message %q does not name %q", apiErr.Status.Message, tt.wantMsg)
			}
		})
	}
	for _, kind := range []string{"configmaps", "pods"} {
		k, _ := tc.Admin.Registry().ByResource(kind)
		l, err := client.ForKind(tc.Admin, k, "default").List(ctx, client.ListOptions{})
		if err != nil || len(l.Items) != 0 {
			t.Fatalf("%s stored after bad input: %d items (%v)", kind, len(l.Items), err)
		}
	}
	_ = bytes.MinRead
}

func asAPIError(err error, target **v1.Error) bool {
	e, ok := err.(*v1.Error)
	if ok {
		*target = e
	}
	return ok
}

var _ = testcluster.Start
