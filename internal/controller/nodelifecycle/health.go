package nodelifecycle

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// unknownMessage is the Ready condition's message on an unreachable node.
const unknownMessage = "Kennel agent stopped posting node status."

// syncNode decides whether the node's agent is alive and sets its Ready
// condition and eviction taints to match. While the lease is fresh the
// node is looked at again when it would expire.
func (n *Controller) syncNode(ctx context.Context, name string) error {
	node, ok := n.nodes.Get(name)
	if !ok {
		return nil
	}
	now := n.clock.Now()
	lease, _ := n.leases.Get(v1.NamespaceLeases + "/" + name)
	expires := n.leaseExpiry(node, lease)
	if !now.Before(expires) && needsUnreachable(node) {
		// The lease cache may lag the agent's last renewal: read it live
		// before condemning the node.
		live, err := client.For[*v1.Lease](n.c, v1.NamespaceLeases).Get(ctx, name)
		switch {
		case v1.IsNotFound(err):
			live = nil
		case err != nil:
			return fmt.Errorf("nodelifecycle: get lease %q: %w", name, err)
		}
		expires = n.leaseExpiry(node, live)
	}
	if now.Before(expires) {
		if want, decided := freshTaint(node); decided {
			if err := n.setEvictionTaint(ctx, node, want, now); err != nil {
				return err
			}
		}
		return controller.RequeueAfter(expires.Sub(now))
	}
	return n.markUnreachable(ctx, node, now)
}

// leaseExpiry is when the node becomes unreachable unless its lease is
// renewed: the grace period after the last renewal (or, before the node
// has a lease, after the node was created), counted no earlier than the
// controller's start.
func (n *Controller) leaseExpiry(node *v1.Node, lease *v1.Lease) time.Time {
	var last time.Time
	if node.CreationTimestamp != nil {
		last = node.CreationTimestamp.Time
	}
	if lease != nil {
		switch {
		case lease.Spec.RenewTime != nil:
			last = lease.Spec.RenewTime.Time
		case lease.Spec.AcquireTime != nil:
			last = lease.Spec.AcquireTime.Time
		case lease.CreationTimestamp != nil:
			last = lease.CreationTimestamp.Time
		}
	}
	if s := n.started(); last.Before(s) {
		last = s
	}
	return last.Add(n.cfg.GracePeriod)
}

// freshTaint is the eviction taint a node with a fresh lease should carry:
// none when its agent reports Ready, not-ready when it reports not Ready.
// While Ready is still Unknown (the agent is back but has not said so) or
// absent (it has not said anything yet) nothing is decided.
func freshTaint(node *v1.Node) (key string, decided bool) {
	switch readyStatus(node) {
	case v1.ConditionTrue:
		return "", true
	case v1.ConditionFalse:
		return v1.TaintNodeNotReady, true
	}
	return "", false
}

// needsUnreachable reports whether marking the node unreachable would
// change it.
func needsUnreachable(node *v1.Node) bool {
	ts := evictionTaints(node)
	return readyStatus(node) != v1.ConditionUnknown || len(ts) != 1 || ts[0].Key != v1.TaintNodeUnreachable || ts[0].TimeAdded == nil
}

// markUnreachable sets the node's Ready condition Unknown and taints it
// unreachable.
func (n *Controller) markUnreachable(ctx context.Context, node *v1.Node, now time.Time) error {
	if readyStatus(node) != v1.ConditionUnknown {
		nodes := client.For[*v1.Node](n.c, "")
		updated, ok, err := mutateAndWrite(ctx, nodes, node, writeStatus, func(nd *v1.Node) bool {
			return setReadyUnknown(nd, now)
		})
		if err != nil || !ok {
			return err
		}
		n.log.Info("node unreachable: lease expired", "node", node.Name, "gracePeriod", n.cfg.GracePeriod)
		n.events.Record(ctx, updated, "Node", "v1", v1.EventTypeWarning, ReasonNodeNotReady,
			fmt.Sprintf("Node %s status is now: NodeNotReady (no lease renewal for %s)", node.Name, n.cfg.GracePeriod))
		node = updated
	}
	return n.setEvictionTaint(ctx, node, v1.TaintNodeUnreachable, now)
}

// setReadyUnknown sets the Ready condition Unknown, keeping the other
// conditions and the agent's last heartbeat; it reports whether anything
// changed.
func setReadyUnknown(node *v1.Node, now time.Time) bool {
	c := v1.NodeCondition{
		Type:               v1.NodeReady,
		Status:             v1.ConditionUnknown,
		Reason:             v1.NodeReasonNodeStatusUnknown,
		Message:            unknownMessage,
		LastTransitionTime: v1.NewTime(now),
	}
	for i := range node.Status.Conditions {
		old := &node.Status.Conditions[i]
		if old.Type != v1.NodeReady {
			continue
		}
		if old.Status == v1.ConditionUnknown {
			return false
		}
		c.LastHeartbeatTime = old.LastHeartbeatTime
		*old = c
		return true
	}
	node.Status.Conditions = append(node.Status.Conditions, c)
	return true
}

// setEvictionTaint makes want ("" for none) the node's only eviction
// taint, stamped with the time it was added.
func (n *Controller) setEvictionTaint(ctx context.Context, node *v1.Node, want string, now time.Time) error {
	nodes := client.For[*v1.Node](n.c, "")
	var added, removed []string
	_, _, err := mutateAndWrite(ctx, nodes, node, writeSpec, func(nd *v1.Node) bool {
		added, removed = replaceEvictionTaint(nd, want, now)
		return len(added)+len(removed) > 0
	})
	if err != nil {
		return err
	}
	if len(added)+len(removed) > 0 {
		n.log.Info("node taints changed", "node", node.Name, "added", added, "removed", removed)
	}
	return nil
}

// replaceEvictionTaint leaves want as the only unreachable or not-ready
// NoExecute taint of node and says which taints it added (or stamped
// with a time) and removed.
func replaceEvictionTaint(node *v1.Node, want string, now time.Time) (added, removed []string) {
	kept := node.Spec.Taints[:0:0]
	found := false
	for _, t := range node.Spec.Taints {
		if !isEvictionTaint(t) {
			kept = append(kept, t)
			continue
		}
		if t.Key != want || found {
			removed = append(removed, t.Key)
			continue
		}
		found = true
		if t.TimeAdded == nil {
			t.TimeAdded = v1.NewTime(now)
			added = append(added, t.Key)
		}
		kept = append(kept, t)
	}
	if want != "" && !found {
		kept = append(kept, v1.Taint{Key: want, Effect: v1.TaintEffectNoExecute, TimeAdded: v1.NewTime(now)})
		added = append(added, want)
	}
	node.Spec.Taints = kept
	return added, removed
}

// readyStatus is the status of the node's Ready condition, "" when it has
// none.
func readyStatus(node *v1.Node) v1.ConditionStatus {
	for _, c := range node.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status
		}
	}
	return ""
}

// isEvictionTaint reports whether t is one of the taints this controller
// owns: unreachable or not-ready, NoExecute.
func isEvictionTaint(t v1.Taint) bool {
	return t.Effect == v1.TaintEffectNoExecute && (t.Key == v1.TaintNodeUnreachable || t.Key == v1.TaintNodeNotReady)
}

// evictionTaints are the node's taints that isEvictionTaint accepts.
func evictionTaints(node *v1.Node) []v1.Taint {
	var out []v1.Taint
	for _, t := range node.Spec.Taints {
		if isEvictionTaint(t) {
			out = append(out, t)
		}
	}
	return out
}

func equalTaints(a, b []v1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Value != b[i].Value || a[i].Effect != b[i].Effect || !sameTime(a[i].TimeAdded, b[i].TimeAdded) {
			return false
		}
	}
	return true
}

func sameTime(a, b *v1.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b.Time)
}
