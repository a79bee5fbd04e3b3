package controlplane

import (
	"context"
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/garbagecollector"
	"github.com/kennel-dev/kennel/internal/controller/namespace"
	fedcontroller "github.com/kennel-dev/kennel/internal/federation/controller"
)

// ensureFederation creates what a federation control plane needs from
// the start: the namespaces of its own objects and of member leases, and
// the ConfigMap that tells joining members its name and domain. A data
// dir of one federation is not reused for another.
func (cp *ControlPlane) ensureFederation(ctx context.Context) error {
	c, err := cp.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	f := cp.cfg.Federation
	for _, ns := range []string{v1.NamespaceFederation, v1.NamespaceClusterLeases} {
		_, err := client.For[*v1.Namespace](c, "").Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: ns}})
		if err != nil && !v1.IsAlreadyExists(err) {
			return fmt.Errorf("controlplane: federation namespace %s: %w", ns, err)
		}
	}
	cms := client.For[*v1.ConfigMap](c, v1.NamespaceSystem)
	want := map[string]string{v1.FederationInfoName: f.Name, v1.FederationInfoDomain: f.Domain}
	cur, err := cms.Get(ctx, v1.FederationInfoConfigMap)
	switch {
	case v1.IsNotFound(err):
		_, err = cms.Create(ctx, &v1.ConfigMap{ObjectMeta: v1.ObjectMeta{Name: v1.FederationInfoConfigMap}, Data: want})
		if err != nil {
			return fmt.Errorf("controlplane: federation info: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("controlplane: federation info: %w", err)
	}
	if n := cur.Data[v1.FederationInfoName]; n != f.Name {
		return fmt.Errorf("controlplane: config.Federation.Name: the data dir %s holds federation %q, not %q", cp.cfg.DataDir, n, f.Name)
	}
	if d := cur.Data[v1.FederationInfoDomain]; d != f.Domain {
		return fmt.Errorf("controlplane: config.Federation.Domain: federation %q was created with domain %q, not %q (its members' DNS names use it)", f.Name, d, f.Domain)
	}
	return nil
}

// runFederationControllers runs what a federation control plane runs:
// the federation controllers, and the garbage collector and namespace
// controller every API server needs.
func (cp *ControlPlane) runFederationControllers(ctx context.Context, c *client.Client) {
	log := cp.cfg.Logger
	f := cp.cfg.Federation
	cp.runAll(ctx, []builder{
		{"garbage collector", func() (runner, error) { return garbagecollector.New(c, log, controller.Options{Workers: 2}) }},
		{"namespace", func() (runner, error) { return namespace.New(c, log, controller.Options{}) }},
		{"federation", func() (runner, error) {
			return fedcontroller.New(fedcontroller.Config{Client: c, Federation: f.Name, Domain: f.Domain, ClusterGracePeriod: f.ClusterGracePeriod,
				DriftMargin: f.DriftMargin, MaxFailedShare: f.MaxFailedShare, AutomaticFailover: f.AutomaticFailover, Logger: log})
		}},
	})
}
