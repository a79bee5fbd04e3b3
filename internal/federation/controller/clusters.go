package controller

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// syncCluster keeps a member's namespace of Works and its Ready
// condition, which is True while its membership Lease is renewed.
func (fc *Controller) syncCluster(ctx context.Context, name string) error {
	cl, ok := fc.clusters.Get(name)
	nss := client.For[*v1.Namespace](fc.c, "")
	if !ok {
		// Unjoined: its Works go with its namespace.
		fc.memberNS.Delete(name)
		_, err := nss.Delete(ctx, v1.MemberNamespace(name), client.DeleteOptions{})
		if err != nil && !v1.IsNotFound(err) {
			return fmt.Errorf("federation controller: delete namespace of cluster %s: %w", name, err)
		}
		return nil
	}
	if _, made := fc.memberNS.Load(name); !made {
		_, err := nss.Create(ctx, &v1.Namespace{ObjectMeta: v1.ObjectMeta{Name: v1.MemberNamespace(name)}})
		if err != nil && !v1.IsAlreadyExists(err) {
			return fmt.Errorf("federation controller: namespace of cluster %s: %w", name, err)
		}
		fc.memberNS.Store(name, true)
	}
	now := fc.clock.Now()
	renewed, expires := fc.lastRenewal(name)
	cond := v1.Condition{Type: v1.ClusterReady, Status: v1.ConditionTrue, Reason: "LeaseRenewed",
		Message: "the member renews its membership lease"}
	if renewed.IsZero() {
		cond = v1.Condition{Type: v1.ClusterReady, Status: v1.ConditionUnknown, Reason: "NoLease", Message: "the member has not renewed its membership yet"}
	} else if !now.Before(expires) {
		cond = v1.Condition{Type: v1.ClusterReady, Status: v1.ConditionFalse, Reason: "LeaseExpired",
			Message: fmt.Sprintf("the member last renewed its membership %s ago (grace period %s)", now.Sub(renewed).Truncate(time.Second), fc.cfg.ClusterGracePeriod)}
	}
	if cur := findCondition(cl.Status.Conditions, v1.ClusterReady); cur == nil || cur.Status != cond.Status || cur.Reason != cond.Reason {
		cl = v1.Clone(cl)
		setCondition(&cl.Status.Conditions, cond, now)
		if _, err := client.For[*v1.Cluster](fc.c, "").UpdateStatus(ctx, cl); err != nil {
			if v1.IsNotFound(err) {
				return nil
			}
			return err
		}
		kind := v1.EventTypeNormal
		if cond.Status != v1.ConditionTrue {
			kind = v1.EventTypeWarning
		}
		fc.events.Record(ctx, cl, "Cluster", "kennel.io/v1", kind, "Cluster"+map[bool]string{true: "Ready", false: "NotReady"}[cond.Status == v1.ConditionTrue], cond.Message)
		fc.log.Info("cluster health", "cluster", name, "ready", cond.Status, "reason", cond.Reason)
	}
	if cond.Status == v1.ConditionTrue {
		return controller.RequeueAfter(expires.Sub(now) + 10*time.Millisecond)
	}
	return nil
}

// lastRenewal is when the member last renewed its Lease and when that
// renewal runs out.
func (fc *Controller) lastRenewal(name string) (renewed, expires time.Time) {
	l, ok := fc.leases.Get(v1.NamespaceClusterLeases + "/" + name)
	if !ok || l.Spec.RenewTime == nil {
		return time.Time{}, time.Time{}
	}
	renewed = l.Spec.RenewTime.Time
	return renewed, renewed.Add(fc.cfg.ClusterGracePeriod)
}

func isReady(c *v1.Cluster) bool {
	cond := findCondition(c.Status.Conditions, v1.ClusterReady)
	return cond != nil && cond.Status == v1.ConditionTrue
}

func findCondition(conds []v1.Condition, t string) *v1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// setCondition sets c in conds, keeping the transition time when the
// status does not change; it reports whether anything changed.
func setCondition(conds *[]v1.Condition, c v1.Condition, now time.Time) bool {
	if cur := findCondition(*conds, c.Type); cur != nil {
		if cur.Status == c.Status && cur.Reason == c.Reason && cur.Message == c.Message && cur.ObservedGeneration == c.ObservedGeneration {
			return false
		}
		if cur.Status == c.Status {
			c.LastTransitionTime = cur.LastTransitionTime
		} else {
			c.LastTransitionTime = v1.NewTime(now)
		}
		*cur = c
		return true
	}
	c.LastTransitionTime = v1.NewTime(now)
	*conds = append(*conds, c)
	return true
}
