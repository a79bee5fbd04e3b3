// Package nodelifecycle notices nodes whose agent has gone quiet and moves
// their pods off them, as Kubernetes' node lifecycle controller and taint
// manager do.
//
// Each agent renews a Lease named after its node in kennel-node-lease. A
// node whose Lease (or, before it has one, the node itself) is older than
// the grace period is unreachable: its Ready condition is set Unknown and
// it gets the node.kubernetes.io/unreachable:NoExecute taint. A node whose
// agent reports Ready False gets node.kubernetes.io/not-ready:NoExecute.
// Both taints go once the lease is fresh and the agent reports Ready True
// again.
//
// Pods bound to a node that is not Ready are marked not Ready themselves,
// so that Services stop sending them traffic. Pods on a node with one of
// those taints are deleted once their toleration of it runs out
// (EvictionTimeout when they have none), except pets: a PetSet's pod is
// replaced only once its node is fenced, never by this controller, so two
// pods never hold one identity.
//
// Two work queues share the informers: one keyed by node name decides the
// node's health and taints; one keyed by pod decides the pod's readiness
// and eviction. Every wait is a requeue after a delay measured on the
// Clock, never a polling loop.
package nodelifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/events"
)

// indexNode indexes pods by spec.nodeName.
const indexNode = "nodeName"

// Config configures the controller. The zero value uses the defaults.
type Config struct {
	// GracePeriod is how old a node's Lease may get before the node is
	// unreachable; zero means v1.NodeMonitorGraceSeconds.
	GracePeriod time.Duration
	// EvictionTimeout is how long a pod that does not tolerate the
	// unreachable or not-ready taint stays on a tainted node before it is
	// deleted; zero means v1.DefaultNotReadyTolerationSeconds.
	EvictionTimeout time.Duration
	// Clock tells the time; nil means Options.Clock, else the system
	// clock. It also times the work queues' delays.
	Clock clock.Clock
	// Options configure both work queues.
	Options controller.Options
}

// withDefaults validates cfg and fills in its defaults.
func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.GracePeriod < 0:
		return cfg, fmt.Errorf("nodelifecycle: GracePeriod: must not be negative, got %s", cfg.GracePeriod)
	case cfg.EvictionTimeout < 0:
		return cfg, fmt.Errorf("nodelifecycle: EvictionTimeout: must not be negative, got %s", cfg.EvictionTimeout)
	}
	if cfg.GracePeriod == 0 {
		cfg.GracePeriod = v1.NodeMonitorGraceSeconds * time.Second
	}
	if cfg.EvictionTimeout == 0 {
		cfg.EvictionTimeout = v1.DefaultNotReadyTolerationSeconds * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = cfg.Options.Clock
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	cfg.Options.Clock = cfg.Clock
	return cfg, nil
}

// Controller watches node leases, marks silent nodes unreachable and evicts
// their pods.
type Controller struct {
	c     *client.Client
	log   *slog.Logger
	cfg   Config
	clock clock.Clock

	nodeQueue *controller.Controller
	podQueue  *controller.Controller

	nodes  *client.Informer[*v1.Node]
	leases *client.Informer[*v1.Lease]
	pods   *client.Informer[*v1.Pod]

	// startedAt is when Run began: no node is judged unreachable before
	// the controller has watched it for a full grace period, so that a
	// control plane that was down does not condemn every node at once.
	mu        sync.Mutex
	startedAt time.Time

	// events tells the owners of nodes and pods what happened to them;
	// repeats are counted on one Event, and a node's go to the default
	// namespace. A failed write is logged, not returned: an Event is
	// news, and the change it reports has been made.
	events *events.Recorder
}

// New builds the node lifecycle controller; Run starts it.
func New(c *client.Client, log *slog.Logger, cfg Config) (*Controller, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Controller{c: c, log: log.With("component", "nodelifecycle"), cfg: cfg, clock: cfg.Clock}
	n.events = &events.Recorder{Client: c, Component: eventSource, Instance: eventSource, OffNode: true, Clock: cfg.Clock, Logger: n.log}
	opts := cfg.Options
	opts.Logger = n.log
	if n.nodeQueue, err = controller.New("nodelifecycle", n.syncNode, opts); err != nil {
		return nil, err
	}
	if n.podQueue, err = controller.New("nodelifecycle-pods", n.syncPod, opts); err != nil {
		return nil, err
	}
	n.nodes = client.NewInformer(client.For[*v1.Node](c, ""), client.ListOptions{}, n.log)
	n.leases = client.NewInformer(client.For[*v1.Lease](c, v1.NamespaceLeases), client.ListOptions{}, n.log)
	n.pods = client.NewInformer(client.For[*v1.Pod](c, ""), client.ListOptions{}, n.log)
	n.pods.AddIndexer(indexNode, func(p *v1.Pod) []string {
		if p.Spec.NodeName == "" {
			return nil
		}
		return []string{p.Spec.NodeName}
	})
	n.nodes.AddHandler(client.HandlerFuncs{
		AddFunc:    n.onNode,
		UpdateFunc: n.onNodeUpdate,
		DeleteFunc: n.onNode,
	})
	n.leases.AddHandler(n.nodeQueue.Handler(leaseNodeKey))
	n.pods.AddHandler(client.HandlerFuncs{
		AddFunc:    n.onPod,
		UpdateFunc: func(_, obj any) { n.onPod(obj) },
	})
	return n, nil
}

// Run runs the informers and both queues until ctx ends.
func (n *Controller) Run(ctx context.Context) {
	go n.nodes.Run(ctx)
	go n.leases.Run(ctx)
	go n.pods.Run(ctx)
	if !n.nodes.WaitForSync(ctx) || !n.leases.WaitForSync(ctx) || !n.pods.WaitForSync(ctx) {
		return
	}
	n.mu.Lock()
	n.startedAt = n.clock.Now()
	n.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { _ = n.nodeQueue.Run(ctx) })
	wg.Go(func() { _ = n.podQueue.Run(ctx) })
	wg.Wait()
}

func (n *Controller) started() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.startedAt
}

// onNode queues the node and every pod bound to it.
func (n *Controller) onNode(obj any) {
	node, ok := obj.(*v1.Node)
	if !ok {
		return
	}
	n.nodeQueue.Enqueue(node.Name)
	n.enqueuePodsOf(node.Name)
}

// onNodeUpdate queues the node, and its pods only when what they depend
// on (readiness, NoExecute taints) changed: agents post status often.
func (n *Controller) onNodeUpdate(oldObj, newObj any) {
	old, ok1 := oldObj.(*v1.Node)
	node, ok2 := newObj.(*v1.Node)
	if !ok1 || !ok2 {
		return
	}
	n.nodeQueue.Enqueue(node.Name)
	if readyStatus(old) != readyStatus(node) || !equalTaints(evictionTaints(old), evictionTaints(node)) {
		n.enqueuePodsOf(node.Name)
	}
}

func (n *Controller) enqueuePodsOf(node string) {
	for _, p := range n.pods.ByIndex(indexNode, node) {
		n.podQueue.Enqueue(v1.ObjectKey(p))
	}
}

// leaseNodeKey maps a node's Lease to the node's key: its name.
func leaseNodeKey(obj any) (string, bool) {
	l, ok := obj.(*v1.Lease)
	if !ok || l.Name == "" {
		return "", false
	}
	return l.Name, true
}

// onPod queues pods bound to a node; the others are none of this
// controller's business, and a deleted pod needs nothing more.
func (n *Controller) onPod(obj any) {
	if p, ok := obj.(*v1.Pod); ok && p.Spec.NodeName != "" {
		n.podQueue.Enqueue(v1.ObjectKey(p))
	}
}
