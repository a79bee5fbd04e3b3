package apiserver_test

import (
	"context"
	"encoding/json"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// TestClusterRole: a member's token registers its own Cluster (binding an
// unbound token to it), renews its own Lease, reads its own Works and
// writes only their status, and reads nothing else of the federation.
func TestClusterRole(t *testing.T) {
	tc := testcluster.Start(t)
	ctx := ctxT(t)
	admin := tc.Admin
	for _, ns := range []string{v1.NamespaceClusterLeases, v1.MemberNamespace("eu-1"), v1.MemberNamespace("eu-2")} {
		if _, err := client.For[*v1.Namespace](admin, "").Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	work := func(cluster string) *v1.Work {
		return &v1.Work{ObjectMeta: v1.ObjectMeta{Name: "default.configmap.x"}, Spec: v1.WorkSpec{Cluster: cluster,
			Source: v1.ObjectReference{Kind: "ConfigMap", Namespace: "default", Name: "x"}, Manifest: json.RawMessage(`{"kind":"ConfigMap"}`)}}
	}
	for _, c := range []string{"eu-1", "eu-2"} {
		if _, err := client.For[*v1.Work](admin, v1.MemberNamespace(c)).Create(ctx, work(c)); err != nil {
			t.Fatal(err)
		}
	}
	member := tc.Client(tc.Token(apiserver.RoleCluster, ""))
	cluster := func(name string) *v1.Cluster {
		return &v1.Cluster{ObjectMeta: v1.ObjectMeta{Name: name}, Spec: v1.ClusterSpec{Region: "eu"}}
	}
	lease := func(name string) *v1.Lease { return &v1.Lease{ObjectMeta: v1.ObjectMeta{Name: name}} }
	works := func(c string) *client.Resource[*v1.Work] { return client.For[*v1.Work](member, v1.MemberNamespace(c)) }
	checks := []struct {
		name string
		do   func(context.Context) error
		want v1.Reason
	}{
		{"lease before registering", func(ctx context.Context) error {
			_, err := client.For[*v1.Lease](member, v1.NamespaceClusterLeases).Create(ctx, lease("eu-1"))
			return err
		}, v1.ReasonForbidden},
		{"registers its Cluster", func(ctx context.Context) error {
			_, err := client.For[*v1.Cluster](member, "").Create(ctx, cluster("eu-1"))
			return err
		}, ""},
		{"registers a second Cluster", func(ctx context.Context) error {
			_, err := client.For[*v1.Cluster](member, "").Create(ctx, cluster("eu-9"))
			return err
		}, v1.ReasonForbidden},
		{"renews its Lease", func(ctx context.Context) error {
			_, err := client.For[*v1.Lease](member, v1.NamespaceClusterLeases).Create(ctx, lease("eu-1"))
			return err
		}, ""},
		{"writes another's Lease", func(ctx context.Context) error {
			_, err := client.For[*v1.Lease](member, v1.NamespaceClusterLeases).Create(ctx, lease("eu-2"))
			return err
		}, v1.ReasonForbidden},
		{"reads its Works", func(ctx context.Context) error { _, err := works("eu-1").List(ctx, client.ListOptions{}); return err }, ""},
		{"reads another's Works", func(ctx context.Context) error { _, err := works("eu-2").List(ctx, client.ListOptions{}); return err }, v1.ReasonForbidden},
		{"writes a Work's status", func(ctx context.Context) error {
			w, err := works("eu-1").Get(ctx, "default.configmap.x")
			if err != nil {
				return err
			}
			w.Status.AppliedGeneration = 1
			_, err = works("eu-1").UpdateStatus(ctx, w)
			return err
		}, ""},
		{"writes a Work's spec", func(ctx context.Context) error { _, err := works("eu-1").Create(ctx, work("eu-1")); return err }, v1.ReasonForbidden},
		{"reads pods", func(ctx context.Context) error {
			_, err := client.For[*v1.Pod](member, "default").List(ctx, client.ListOptions{})
			return err
		}, v1.ReasonForbidden},
		{"reads federated endpoints", func(ctx context.Context) error {
			_, err := client.For[*v1.FederatedEndpoints](member, v1.NamespaceFederation).List(ctx, client.ListOptions{})
			return err
		}, ""},
		{"deletes its Cluster", func(ctx context.Context) error {
			_, err := client.For[*v1.Cluster](member, "").Delete(ctx, "eu-1", client.DeleteOptions{})
			return err
		}, ""},
	}
	for _, c := range checks {
		err := c.do(ctx)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && v1.ReasonOf(err) != c.want:
			t.Errorf("%s: got %v, want %s", c.name, err, c.want)
		}
	}
}
