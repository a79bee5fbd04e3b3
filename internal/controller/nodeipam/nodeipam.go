// Package nodeipam gives each node its pod address range. On one machine
// every node's pods share the host's loopback network, so node i gets
// 127.i.0.0/16 (i in 1..254, the lowest free; 127.0.0.0/16 stays the
// host's). A range is assigned once and never changed: a node that comes
// with spec.podCIDR set (kennel up --nodes N sets them) keeps it and its
// range counts as used; overlapping ranges are reported as Events, not
// "fixed", since pods may already hold addresses from them.
package nodeipam

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/events"
)

// The loopback /16s handed out: 127.first.0.0/16 to 127.last.0.0/16.
const (
	first = 1
	last  = 254
)

// conflictDelay is how long a node whose update met a newer version waits
// for the cache to catch up before it is tried again.
const conflictDelay = 100 * time.Millisecond

// eventSource names this controller in the Events it writes.
const eventSource = "nodeipam-controller"

// Event reasons this controller writes on nodes.
const (
	// ReasonCIDRNotAvailable: every range is taken.
	ReasonCIDRNotAvailable = "CIDRNotAvailable"
	// ReasonPodCIDROverlap: the node's range overlaps another node's.
	ReasonPodCIDROverlap = "PodCIDROverlap"
)

// Controller assigns pod ranges to nodes.
type Controller struct {
	c    *client.Client
	log  *slog.Logger
	ctrl *controller.Controller
	inf  *client.Informer[*v1.Node]
	// events go to the default namespace, since nodes have none.
	events *events.Recorder

	mu sync.Mutex
	// pending holds the index assigned to a node until the cache shows
	// the node with its range, so that no other node is given it
	// meanwhile.
	pending map[string]int
	// reported is the last problem reported for a node, so that each is
	// reported once and not on every resync.
	reported map[string]string
}

// New builds the node IPAM controller; Run starts it.
func New(c *client.Client, log *slog.Logger, opts controller.Options) (*Controller, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Controller{c: c, log: log.With("component", "nodeipam"), pending: map[string]int{}, reported: map[string]string{}}
	n.events = &events.Recorder{Client: c, Component: eventSource, Instance: eventSource, OffNode: true, Logger: n.log}
	opts.Logger = n.log
	ctrl, err := controller.New("nodeipam", n.sync, opts)
	if err != nil {
		return nil, err
	}
	n.ctrl = ctrl
	n.inf = client.NewInformer(client.For[*v1.Node](c, ""), client.ListOptions{}, n.log)
	n.inf.AddHandler(client.HandlerFuncs{
		AddFunc:    func(obj any) { n.enqueue(obj) },
		UpdateFunc: func(_, obj any) { n.enqueue(obj) },
		DeleteFunc: n.onDelete,
	})
	return n, nil
}

// Run runs until ctx ends.
func (n *Controller) Run(ctx context.Context) {
	go n.inf.Run(ctx)
	if n.inf.WaitForSync(ctx) {
		_ = n.ctrl.Run(ctx)
	}
}

func (n *Controller) enqueue(obj any) {
	if node, ok := obj.(*v1.Node); ok {
		n.ctrl.Enqueue(node.Name)
	}
}

// onDelete forgets the node and, since its range is free again, looks
// again at the nodes still waiting for one.
func (n *Controller) onDelete(obj any) {
	n.enqueue(obj)
	for _, node := range n.inf.List() {
		if !hasRange(node) {
			n.ctrl.Enqueue(node.Name)
		}
	}
}

func (n *Controller) sync(ctx context.Context, name string) error {
	node, ok := n.inf.Get(name)
	if !ok {
		n.mu.Lock()
		delete(n.pending, name)
		delete(n.reported, name)
		n.mu.Unlock()
		return nil
	}
	if hasRange(node) {
		n.mu.Lock()
		delete(n.pending, name)
		n.mu.Unlock()
		n.checkOverlap(ctx, node)
		return nil
	}
	i, ok := n.reserve(name)
	if !ok {
		n.reportOnce(ctx, node, ReasonCIDRNotAvailable,
			fmt.Sprintf("Node %s gets no pod range: all of 127.%d.0.0/16 to 127.%d.0.0/16 are taken", name, first, last))
		return nil
	}
	cidr := rangeOf(i).String()
	cp := v1.Clone(node)
	cp.Spec.PodCIDR = cidr
	cp.Spec.PodCIDRs = []string{cidr}
	_, err := client.For[*v1.Node](n.c, "").Update(ctx, cp)
	switch {
	case v1.IsConflict(err):
		// The reservation stays: this node is the one that gets it.
		return controller.RequeueAfter(conflictDelay)
	case v1.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("nodeipam: set spec.podCIDR of node %q: %w", name, err)
	}
	n.log.Info("assigned pod range", "node", name, "podCIDR", cidr)
	return nil
}

// reserve picks the node's index: the one already reserved for it, else
// the lowest one no cached node's range and no reservation overlaps.
func (n *Controller) reserve(name string) (int, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if i, ok := n.pending[name]; ok {
		return i, true
	}
	var used [last + 1]bool
	for other, i := range n.pending {
		if other != name {
			used[i] = true
		}
	}
	for _, node := range n.inf.List() {
		if node.Name == name {
			continue
		}
		for _, r := range ranges(node) {
			for i := first; i <= last; i++ {
				used[i] = used[i] || overlap(r, rangeOf(i))
			}
		}
	}
	for i := first; i <= last; i++ {
		if !used[i] {
			n.pending[name] = i
			return i, true
		}
	}
	return 0, false
}

// checkOverlap reports (once) a node whose range overlaps another node's.
func (n *Controller) checkOverlap(ctx context.Context, node *v1.Node) {
	mine := ranges(node)
	for _, other := range n.inf.List() {
		if other.Name == node.Name {
			continue
		}
		for _, a := range mine {
			for _, b := range ranges(other) {
				if overlap(a, b) {
					n.reportOnce(ctx, node, ReasonPodCIDROverlap, fmt.Sprintf(
						"Pod range %s of node %s overlaps %s of node %s; left as is: change one node's spec.podCIDR by hand",
						a, node.Name, b, other.Name))
					return
				}
			}
		}
	}
	n.mu.Lock()
	delete(n.reported, node.Name)
	n.mu.Unlock()
}

// reportOnce logs a problem with a node and records it as an Event,
// unless the same message was the last one reported for the node.
func (n *Controller) reportOnce(ctx context.Context, node *v1.Node, reason, message string) {
	n.mu.Lock()
	seen := n.reported[node.Name] == message
	n.reported[node.Name] = message
	n.mu.Unlock()
	if seen {
		return
	}
	n.log.Warn("pod range problem", "node", node.Name, "reason", reason, "message", message)
	n.events.Record(ctx, node, "Node", "v1", v1.EventTypeWarning, reason, message)
}

// hasRange reports whether the node was given a pod range, by anyone.
func hasRange(node *v1.Node) bool {
	return node.Spec.PodCIDR != "" || len(node.Spec.PodCIDRs) > 0
}

// ranges are the node's pod ranges that parse (validation rejects the
// others).
func ranges(node *v1.Node) []*net.IPNet {
	var out []*net.IPNet
	seen := map[string]bool{}
	for _, s := range append([]string{node.Spec.PodCIDR}, node.Spec.PodCIDRs...) {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		if _, r, err := net.ParseCIDR(s); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// rangeOf is 127.i.0.0/16.
func rangeOf(i int) *net.IPNet {
	return &net.IPNet{IP: net.IPv4(127, byte(i), 0, 0).To4(), Mask: net.CIDRMask(16, 32)}
}

// overlap reports whether two ranges share an address: one contains the
// other's first address.
func overlap(a, b *net.IPNet) bool {
	return a.Contains(b.IP) || b.Contains(a.IP)
}
