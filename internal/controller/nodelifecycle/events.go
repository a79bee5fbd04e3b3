package nodelifecycle

import (
	"context"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// eventSource names this controller in the Events it writes.
const eventSource = "nodelifecycle-controller"

// Event reasons this controller writes.
const (
	// ReasonNodeNotReady is on a node found unreachable and on each pod
	// marked not Ready because of its node.
	ReasonNodeNotReady = "NodeNotReady"
	// ReasonTaintManagerEviction is on each pod deleted because its node
	// is tainted unreachable or not-ready for longer than it tolerates.
	ReasonTaintManagerEviction = "TaintManagerEviction"
)

// recordEvent tells the owner of obj (of kind kind) what happened to it.
// Cluster-scoped objects' Events go to the default namespace, as in
// Kubernetes. A failed write is logged, not returned: an Event is news,
// and the change it reports has been made.
func (n *Controller) recordEvent(ctx context.Context, obj v1.Object, kind, eventType, reason, message string) {
	m := obj.GetObjectMeta()
	ns := m.Namespace
	if ns == "" {
		ns = v1.NamespaceDefault
	}
	now := n.clock.Now()
	ev := &v1.Event{
		ObjectMeta:         v1.ObjectMeta{GenerateName: m.Name + ".", Namespace: ns},
		InvolvedObject:     v1.ObjectReference{Kind: kind, APIVersion: "v1", Namespace: m.Namespace, Name: m.Name, UID: m.UID},
		Reason:             reason,
		Message:            message,
		Type:               eventType,
		Source:             v1.EventSource{Component: eventSource},
		FirstTimestamp:     v1.NewTime(now),
		LastTimestamp:      v1.NewTime(now),
		Count:              1,
		ReportingComponent: eventSource,
		ReportingInstance:  eventSource,
	}
	if _, err := client.For[*v1.Event](n.c, ns).Create(ctx, ev); err != nil {
		n.log.Warn("could not record event", "object", v1.ObjectKey(obj), "reason", reason, "error", err)
	}
}
