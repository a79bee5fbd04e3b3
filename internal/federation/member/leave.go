package member

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// leaveFederationTimeout bounds Leave's best-effort calls to the
// federation, which may well be unreachable.
const leaveFederationTimeout = 10 * time.Second

// Leave undoes a membership (`kennel federation unjoin`): in the member
// it deletes every object applied from a Work of the federation (with
// their dependents), the mirrored FederatedEndpoints, the fence
// ConfigMap and the membership ConfigMap; then, best effort, it deletes
// the member's Lease and Cluster on the federation. Namespaces the agent created stay, as may objects
// that are not the federation's in them.
//
// Only cfg.Member is required. The federation's name is read from the
// membership ConfigMap, else (cfg.Federation set) from the federation.
// The error joins what failed in the member; Leave may be called again
// until it returns nil. Failures on the federation are only logged.
func Leave(ctx context.Context, cfg Config) error {
	if cfg.Member == nil {
		return errors.New("member: leave: Config.Member: required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "federation-agent", "cluster", cfg.Cluster)
	federation, err := federationName(ctx, cfg)
	if err != nil {
		return err
	}
	if federation != "" {
		// The ConfigMap, which names the federation, goes last, so that
		// a Leave that failed here can be run again.
		err := errors.Join(deleteApplied(ctx, cfg.Member, federation, log), deleteMirrored(ctx, cfg.Member, federation))
		if err != nil {
			return err
		}
	}
	for _, name := range []string{FenceConfigMap, v1.MembershipConfigMap} {
		_, err = client.For[*v1.ConfigMap](cfg.Member, v1.NamespaceSystem).Delete(ctx, name, client.DeleteOptions{})
		if err = ignoreNotFound(err); err != nil {
			return fmt.Errorf("member: leave: delete ConfigMap %s/%s: %w", v1.NamespaceSystem, name, err)
		}
	}
	if cfg.Federation != nil && cfg.Cluster != "" {
		deregister(ctx, cfg.Federation, cfg.Cluster, log)
	}
	log.Info("left the federation", "federation", federation)
	return nil
}

// federationName is the federation the member belongs to, "" when
// nothing says (then nothing of it can be in the member).
func federationName(ctx context.Context, cfg Config) (string, error) {
	cm, err := client.For[*v1.ConfigMap](cfg.Member, v1.NamespaceSystem).Get(ctx, v1.MembershipConfigMap)
	if err == nil && cm.Data[v1.MembershipFederation] != "" {
		return cm.Data[v1.MembershipFederation], nil
	}
	if err != nil && !v1.IsNotFound(err) {
		return "", fmt.Errorf("member: leave: read ConfigMap %s/%s: %w", v1.NamespaceSystem, v1.MembershipConfigMap, err)
	}
	if cfg.Federation == nil {
		return "", nil
	}
	fctx, cancel := context.WithTimeout(ctx, leaveFederationTimeout)
	defer cancel()
	name, _, err := federationInfo(fctx, cfg.Federation)
	if err != nil {
		return "", fmt.Errorf("member: leave: the membership ConfigMap is gone and the federation does not answer: %w", err)
	}
	return name, nil
}

func deleteApplied(ctx context.Context, mem *client.Client, federation string, log *slog.Logger) error {
	objs, err := listApplied(ctx, mem, federation)
	for _, o := range objs {
		if o.obj.GetObjectMeta().DeletionTimestamp != nil {
			continue
		}
		res := client.ForKind(mem, o.kind, o.obj.GetObjectMeta().Namespace)
		if derr := deleteObject(ctx, res, o.obj); derr != nil {
			err = errors.Join(err, fmt.Errorf("member: leave: delete %s %s: %w", o.kind.Kind, v1.ObjectKey(o.obj), derr))
			continue
		}
		log.Info("deleted a federated object", "kind", o.kind.Kind, "object", v1.ObjectKey(o.obj), "work", o.work)
	}
	return err
}

func deleteMirrored(ctx context.Context, mem *client.Client, federation string) error {
	copies := client.For[*v1.FederatedEndpoints](mem, v1.NamespaceFederation)
	list, err := copies.ListAll(ctx, client.ListOptions{LabelSelector: v1.LabelFederation + "=" + federation})
	if err != nil {
		return fmt.Errorf("member: leave: list mirrored FederatedEndpoints: %w", err)
	}
	var errs []error
	for _, fe := range list.Items {
		if _, err := copies.Delete(ctx, fe.Name, client.DeleteOptions{}); ignoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("member: leave: delete mirrored FederatedEndpoints %s: %w", fe.Name, err))
		}
	}
	return errors.Join(errs...)
}

// deregister deletes the member's Lease and Cluster on the federation,
// if it answers.
func deregister(ctx context.Context, fed *client.Client, cluster string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, leaveFederationTimeout)
	defer cancel()
	_, err := client.For[*v1.Lease](fed, v1.NamespaceClusterLeases).Delete(ctx, cluster, client.DeleteOptions{})
	if err = ignoreNotFound(err); err != nil {
		log.Warn("cannot delete the membership Lease on the federation", "err", err)
	}
	_, err = client.For[*v1.Cluster](fed, "").Delete(ctx, cluster, client.DeleteOptions{})
	if err = ignoreNotFound(err); err != nil {
		log.Warn("cannot delete the Cluster on the federation", "err", err)
	}
}
