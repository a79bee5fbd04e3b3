package apiserver_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// TestBindingSubresource: POST pods/NAME/binding, Kubernetes' Binding,
// sets an unbound pod's node once; a second binding, a binding for a pod
// of another UID, a bad body, another verb, and callers other than an
// admin are refused, each saying why.
func TestBindingSubresource(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	pods := client.For[*v1.Pod](tc.Admin, "default")
	p, err := pods.Create(ctx, pod("waiting", ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []struct {
		name string
		c    *client.Client
	}{{"viewer", tc.Client(tc.Token(apiserver.RoleViewer, ""))}, {"node", tc.Client(tc.Token(apiserver.RoleNode, "n1"))}} {
		if err := client.BindPod(ctx, who.c, "default", "waiting", "", "n1"); !v1.IsForbidden(err) {
			t.Fatalf("a %s bound a pod: %v", who.name, err)
		}
	}
	if err := client.BindPod(ctx, tc.Admin, "default", "waiting", "some-other-uid", "n1"); !v1.IsConflict(err) || !strings.Contains(err.Error(), "UID") {
		t.Fatalf("binding with another pod's UID: %v, want a Conflict naming the UID", err)
	}
	if err := client.BindPod(ctx, tc.Admin, "default", "waiting", string(p.UID), "n1"); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, "waiting")
	if err != nil || got.Spec.NodeName != "n1" {
		t.Fatalf("after binding: node %q, %v; want n1", got.Spec.NodeName, err)
	}
	if err := client.BindPod(ctx, tc.Admin, "default", "waiting", "", "n2"); !v1.IsConflict(err) || !strings.Contains(err.Error(), `already assigned to node "n1"`) {
		t.Fatalf("second binding: %v, want a Conflict saying the pod is on n1", err)
	}
	if err := client.BindPod(ctx, tc.Admin, "default", "nobody", "", "n1"); !v1.IsNotFound(err) {
		t.Fatalf("binding a missing pod: %v, want NotFound", err)
	}

	path := "/api/v1/namespaces/default/pods/waiting/binding"
	for _, tt := range []struct{ body, field string }{
		{`{"target": {"kind": "Node"}}`, "target.name"},
		{`{"target": {"name": "Not_A_Node"}}`, "target.name"},
		{`{"target": {"kind": "Pod", "name": "x"}}`, "target.kind"},
		{`{"metadata": {"name": "other"}, "target": {"name": "n1"}}`, "metadata.name"},
		{`{"target": {"name": "n1"}, "extra": 1}`, "extra"},
	} {
		_, err := tc.Admin.Do(ctx, http.MethodPost, path, []byte(tt.body), "")
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("binding %s: %v, want an error naming %s", tt.body, err, tt.field)
		}
	}
	if _, err := tc.Admin.Do(ctx, http.MethodGet, path, nil, ""); v1.ReasonOf(err) != v1.ReasonMethodNotAllowed {
		t.Errorf("GET binding: %v, want MethodNotAllowed", err)
	}
}

// TestBindingAfterAWriteElsewhere: a pod changed behind this API server's
// back (another server of the cluster wrote it) is bound from its current
// version, not from the one this server remembers writing.
func TestBindingAfterAWriteElsewhere(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	pods := client.For[*v1.Pod](tc.Admin, "default")
	if _, err := pods.Create(ctx, pod("moved", "")); err != nil {
		t.Fatal(err)
	}
	key := tc.Store.Prefix() + "/pods/default/moved"
	kv, err := tc.Store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(kv.Value, &raw); err != nil {
		t.Fatal(err)
	}
	raw["metadata"].(map[string]any)["labels"] = map[string]any{"written": "elsewhere"}
	b, _ := json.Marshal(raw)
	if _, _, err := tc.Store.Update(ctx, key, b, kv.Revision); err != nil {
		t.Fatal(err)
	}
	if err := client.BindPod(ctx, tc.Admin, "default", "moved", "", "n1"); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, "moved")
	if err != nil || got.Spec.NodeName != "n1" || got.Labels["written"] != "elsewhere" {
		t.Fatalf("after binding: node %q labels %v, %v; want n1 and the other server's label kept", got.Spec.NodeName, got.Labels, err)
	}
}
