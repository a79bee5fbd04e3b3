// Package namespace finishes the deletion of namespaces: when a namespace
// is marked for deletion it is set Terminating, everything in it is
// deleted, and once nothing is left its finalizer is removed so the API
// server removes it.
package namespace

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// Finalizer is the finalizer the API server puts on a namespace being
// deleted.
const Finalizer = "kennel.io/namespace"

// Controller deletes the contents of terminating namespaces.
type Controller struct {
	c    *client.Client
	log  *slog.Logger
	ctrl *controller.Controller
	inf  *client.Informer[*v1.Namespace]
}

// New builds the namespace controller.
func New(c *client.Client, log *slog.Logger, opts controller.Options) (*Controller, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Controller{c: c, log: log.With("component", "namespace-controller")}
	opts.Logger = n.log
	ctrl, err := controller.New("namespace", n.sync, opts)
	if err != nil {
		return nil, err
	}
	n.ctrl = ctrl
	n.inf = client.NewInformer(client.For[*v1.Namespace](c, ""), client.ListOptions{}, n.log)
	n.inf.AddHandler(ctrl.Handler(nil))
	return n, nil
}

// Run runs until ctx ends.
func (n *Controller) Run(ctx context.Context) {
	go n.inf.Run(ctx)
	if n.inf.WaitForSync(ctx) {
		n.ctrl.Run(ctx)
	}
}

func (n *Controller) sync(ctx context.Context, name string) error {
	ns, ok := n.inf.Get(name)
	if !ok || ns.DeletionTimestamp == nil || !ns.HasFinalizer(Finalizer) {
		return nil
	}
	nss := client.For[*v1.Namespace](n.c, "")
	if ns.Status.Phase != v1.NamespaceTerminating {
		ns = v1.Clone(ns)
		ns.Status.Phase = v1.NamespaceTerminating
		if _, err := nss.UpdateStatus(ctx, ns); err != nil && !v1.IsNotFound(err) {
			return err
		}
	}
	remaining, err := n.deleteContents(ctx, name)
	if err != nil {
		return err
	}
	if remaining > 0 {
		// Objects with finalizers or grace periods take time to go.
		return controller.RequeueAfter(500 * time.Millisecond)
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": without(ns.Finalizers, Finalizer)}})
	_, err = nss.Patch(ctx, name, patch)
	if v1.IsNotFound(err) {
		return nil
	}
	return err
}

// deleteContents deletes every namespaced object in ns and counts those
// still there.
func (n *Controller) deleteContents(ctx context.Context, ns string) (int, error) {
	remaining := 0
	for _, k := range n.c.Registry().All() {
		if !k.Namespaced {
			continue
		}
		res := client.ForKind(n.c, k, ns)
		list, err := res.ListAll(ctx, client.ListOptions{})
		if err != nil {
			return 0, fmt.Errorf("namespace: list %s in %s: %w", k.Resource, ns, err)
		}
		for _, o := range list.Items {
			remaining++
			if o.GetObjectMeta().DeletionTimestamp != nil {
				continue
			}
			if _, err := res.Delete(ctx, o.GetObjectMeta().Name, client.DeleteOptions{PropagationPolicy: "Background"}); err != nil && !v1.IsNotFound(err) {
				return 0, fmt.Errorf("namespace: delete %s %s/%s: %w", k.Kind, ns, o.GetObjectMeta().Name, err)
			}
		}
	}
	return remaining, nil
}

func without(list []string, s string) []string {
	out := []string{}
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
