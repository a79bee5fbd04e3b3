package apiserver_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"k8s.io/apimachinery/pkg/api/resource"
)

func pod(name, node string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: v1.ObjectMeta{Name: name},
		Spec:       v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "c", Command: []string{"sleep", "1"}}}},
	}
}

func TestAuthenticationAndAuthorization(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	admin := tc.Admin
	if _, err := client.For[*v1.Pod](admin, "default").Create(ctx, pod("on-n1", "n1")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.For[*v1.Pod](admin, "default").Create(ctx, pod("on-n2", "n2")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.For[*v1.Node](admin, "").Create(ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n2"}}); err != nil {
		t.Fatal(err)
	}
	viewer := tc.Client(tc.Token(apiserver.RoleViewer, ""))
	node1 := tc.Client(tc.Token(apiserver.RoleNode, "n1"))
	nobody := tc.Client("")
	forged := tc.Client("abcdef.0123456789abcdef")

	type check struct {
		name string
		do   func(context.Context) error
		want v1.Reason // "" means allowed
	}
	checks := []check{
		{"no token lists", func(ctx context.Context) error { return list(ctx, nobody) }, v1.ReasonUnauthorized},
		{"forged token lists", func(ctx context.Context) error { return list(ctx, forged) }, v1.ReasonUnauthorized},
		{"viewer lists", func(ctx context.Context) error { return list(ctx, viewer) }, ""},
		{"viewer creates", func(ctx context.Context) error {
			_, err := client.For[*v1.ConfigMap](viewer, "default").Create(ctx, configMap("v", nil))
			return err
		}, v1.ReasonForbidden},
		{"node registers itself", func(ctx context.Context) error {
			_, err := client.For[*v1.Node](node1, "").Create(ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n1"}})
			return err
		}, ""},
		{"node writes its own node status", func(ctx context.Context) error {
			n, err := client.For[*v1.Node](node1, "").Get(ctx, "n1")
			if err != nil {
				return err
			}
			n.Labels = map[string]string{"x": "y"}
			_, err = client.For[*v1.Node](node1, "").UpdateStatus(ctx, n)
			return err
		}, ""},
		{"node writes another node", func(ctx context.Context) error {
			n, err := client.For[*v1.Node](node1, "").Get(ctx, "n2")
			if err != nil {
				return err
			}
			_, err = client.For[*v1.Node](node1, "").UpdateStatus(ctx, n)
			return err
		}, v1.ReasonForbidden},
		{"node creates another node", func(ctx context.Context) error {
			_, err := client.For[*v1.Node](node1, "").Create(ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n3"}})
			return err
		}, v1.ReasonForbidden},
		{"node renews its lease", func(ctx context.Context) error {
			_, err := client.For[*v1.Lease](node1, v1.NamespaceLeases).Create(ctx, &v1.Lease{ObjectMeta: v1.ObjectMeta{Name: "n1"}})
			return err
		}, ""},
		{"node writes another node's lease", func(ctx context.Context) error {
			_, err := client.For[*v1.Lease](node1, v1.NamespaceLeases).Create(ctx, &v1.Lease{ObjectMeta: v1.ObjectMeta{Name: "n2"}})
			return err
		}, v1.ReasonForbidden},
		{"node writes status of its pod", func(ctx context.Context) error {
			_, err := client.For[*v1.Pod](node1, "default").PatchStatus(ctx, "on-n1", []byte(`{"status":{"phase":"Running"}}`))
			return err
		}, ""},
		{"node writes status of another node's pod", func(ctx context.Context) error {
			_, err := client.For[*v1.Pod](node1, "default").PatchStatus(ctx, "on-n2", []byte(`{"status":{"phase":"Running"}}`))
			return err
		}, v1.ReasonForbidden},
		{"node changes a pod spec", func(ctx context.Context) error {
			_, err := client.For[*v1.Pod](node1, "default").Patch(ctx, "on-n1", []byte(`{"metadata":{"labels":{"a":"b"}}}`))
			return err
		}, v1.ReasonForbidden},
		{"node creates a volume carved from its storage", func(ctx context.Context) error {
			_, err := client.For[*v1.PersistentVolume](node1, "").Create(ctx, localPV("pv-n1", "n1"))
			return err
		}, ""},
		{"node deletes its own volume", func(ctx context.Context) error {
			_, err := client.For[*v1.PersistentVolume](node1, "").Delete(ctx, "pv-n1", client.DeleteOptions{})
			return err
		}, ""},
		{"node creates a volume of another node", func(ctx context.Context) error {
			_, err := client.For[*v1.PersistentVolume](node1, "").Create(ctx, localPV("pv-n2", "n2"))
			return err
		}, v1.ReasonForbidden},
		{"node creates a volume no local provisioner made", func(ctx context.Context) error {
			pv := localPV("pv-hostpath", "n1")
			delete(pv.Annotations, v1.AnnotationProvisionedBy)
			_, err := client.For[*v1.PersistentVolume](node1, "").Create(ctx, pv)
			return err
		}, v1.ReasonForbidden},
		{"node deletes a volume of another node", func(ctx context.Context) error {
			if _, err := client.For[*v1.PersistentVolume](admin, "").Create(ctx, localPV("pv-other", "n2")); err != nil {
				return err
			}
			_, err := client.For[*v1.PersistentVolume](node1, "").Delete(ctx, "pv-other", client.DeleteOptions{})
			return err
		}, v1.ReasonForbidden},
		{"node creates a configmap", func(ctx context.Context) error {
			_, err := client.For[*v1.ConfigMap](node1, "default").Create(ctx, configMap("n", nil))
			return err
		}, v1.ReasonForbidden},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			err := c.do(ctx)
			if got := v1.ReasonOf(err); got != c.want || (c.want == "" && err != nil) {
				t.Fatalf("got %v (%q), want %q", err, got, c.want)
			}
			if c.want != "" && !strings.Contains(err.Error(), " ") {
				t.Fatalf("error message is not helpful: %q", err)
			}
		})
	}
	if p, _ := client.For[*v1.Pod](admin, "default").Get(ctx, "on-n2"); p.Status.Phase == "Running" {
		t.Fatal("forbidden status write was stored")
	}
}

// localPV is a local volume carved from node's storage.
func localPV(name, node string) *v1.PersistentVolume {
	return &v1.PersistentVolume{
		ObjectMeta: v1.ObjectMeta{Name: name, Annotations: map[string]string{v1.AnnotationVolumeNode: node,
			v1.AnnotationProvisionedBy: v1.ProvisionerLocal}},
		Spec: v1.PersistentVolumeSpec{
			Capacity:               v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			PersistentVolumeSource: v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: "/srv/" + name}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{node}}}}}}},
		},
	}
}

func list(ctx context.Context, c *client.Client) error {
	_, err := client.For[*v1.ConfigMap](c, "default").List(ctx, client.ListOptions{})
	return err
}

func TestUnboundNodeTokenBindsToFirstNode(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	join := tc.Client(tc.Token(apiserver.RoleNode, ""))
	nodes := client.For[*v1.Node](join, "")
	if _, err := nodes.Create(ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "first"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes.Create(ctx, &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "second"}}); !v1.IsForbidden(err) {
		t.Fatalf("second node with the same token: %v, want Forbidden", err)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	client.For[*v1.ConfigMap](tc.Admin, "default").Create(ctx, configMap("m", nil))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := hc.Get(tc.Server.URL() + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	body, err := tc.Admin.Do(ctx, http.MethodGet, "/metrics", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, series := range []string{
		`kennel_apiserver_requests_total{code="201",resource="configmaps",verb="create"} 1`,
		`kennel_apiserver_request_duration_seconds_bucket{resource="configmaps",verb="create"`,
		`kennel_store_request_duration_seconds_bucket{operation="create"`,
		`kennel_apiserver_watchers`,
	} {
		if !strings.Contains(string(body), series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, tc.Server.URL()+"/metrics", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("/metrics without token: %d %s", resp.StatusCode, b)
	}
}

func TestTokenRevocation(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	body, err := tc.Admin.Do(ctx, http.MethodPost, "/kennel/v1/tokens", []byte(`{"role":"viewer","description":"ci"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	var resp apiserver.TokenResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.Token == "" || resp.SecretHash != "" {
		t.Fatalf("token response %s: %v", body, err)
	}
	viewer := tc.Client(resp.Token)
	if err := list(ctx, viewer); err != nil {
		t.Fatal(err)
	}
	listed, err := tc.Admin.Do(ctx, http.MethodGet, "/kennel/v1/tokens", nil, "")
	if err != nil || !strings.Contains(string(listed), resp.ID) || strings.Contains(string(listed), "secretHash") {
		t.Fatalf("token list %s: %v", listed, err)
	}
	if _, err := viewer.Do(ctx, http.MethodPost, "/kennel/v1/tokens", []byte(`{"role":"admin"}`), ""); !v1.IsForbidden(err) {
		t.Fatalf("viewer minting a token: %v, want Forbidden", err)
	}
	if _, err := tc.Admin.Do(ctx, http.MethodDelete, "/kennel/v1/tokens/"+resp.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := list(ctx, viewer); !v1.IsUnauthorized(err) {
		t.Fatalf("revoked token: %v, want Unauthorized", err)
	}
}
