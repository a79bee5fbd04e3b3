package scheduler

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/scheduler/plugins"
)

// volumeCaches are the informers the VolumeBinding plugin reads (with
// the scheduler's node informer), and its way to write claims: the
// scheduler's client.
type volumeCaches struct {
	c       *client.Client
	nodes   *client.Informer[*v1.Node]
	claims  *client.Informer[*v1.PersistentVolumeClaim]
	volumes *client.Informer[*v1.PersistentVolume]
	classes *client.Informer[*v1.StorageClass]
}

var (
	_ plugins.VolumeListers = (*volumeCaches)(nil)
	_ plugins.ClaimWriter   = (*volumeCaches)(nil)
)

func newVolumeCaches(c *client.Client, nodes *client.Informer[*v1.Node], log *slog.Logger) *volumeCaches {
	return &volumeCaches{
		c: c, nodes: nodes,
		claims:  client.NewInformer(client.For[*v1.PersistentVolumeClaim](c, ""), client.ListOptions{}, log),
		volumes: client.NewInformer(client.For[*v1.PersistentVolume](c, ""), client.ListOptions{}, log),
		classes: client.NewInformer(client.For[*v1.StorageClass](c, ""), client.ListOptions{}, log),
	}
}

// Node is the cached node.
func (v *volumeCaches) Node(name string) (*v1.Node, bool) { return v.nodes.Get(name) }

// Claim is the cached claim.
func (v *volumeCaches) Claim(namespace, name string) (*v1.PersistentVolumeClaim, bool) {
	return v.claims.Get(namespace + "/" + name)
}

// Claims lists every cached claim.
func (v *volumeCaches) Claims() []*v1.PersistentVolumeClaim { return v.claims.List() }

// Volume is the cached volume.
func (v *volumeCaches) Volume(name string) (*v1.PersistentVolume, bool) { return v.volumes.Get(name) }

// Volumes lists every cached volume.
func (v *volumeCaches) Volumes() []*v1.PersistentVolume { return v.volumes.List() }

// StorageClass is the cached class.
func (v *volumeCaches) StorageClass(name string) (*v1.StorageClass, bool) { return v.classes.Get(name) }

// UpdateClaim writes the claim, conditionally on its resourceVersion.
func (v *volumeCaches) UpdateClaim(ctx context.Context, c *v1.PersistentVolumeClaim) (*v1.PersistentVolumeClaim, error) {
	return client.For[*v1.PersistentVolumeClaim](v.c, c.Namespace).Update(ctx, c)
}

// run runs the volume informers in wg until ctx ends.
func (v *volumeCaches) run(ctx context.Context, wg *sync.WaitGroup) {
	wg.Go(func() { v.claims.Run(ctx) })
	wg.Go(func() { v.volumes.Run(ctx) })
	wg.Go(func() { v.classes.Run(ctx) })
}

// waitForSync reports whether every volume informer has filled its cache
// before ctx ended.
func (v *volumeCaches) waitForSync(ctx context.Context) bool {
	return v.claims.WaitForSync(ctx) && v.volumes.WaitForSync(ctx) && v.classes.WaitForSync(ctx)
}

// watchVolumes retries waiting pods when what VolumeBinding reads
// changes: a claim, the pods of its namespace (every pod when the change
// frees a device reservation); a volume or class, every pod.
func (s *Scheduler) watchVolumes() {
	s.volumes.claims.AddHandler(client.HandlerFuncs{
		AddFunc: func(obj any) {
			if c, ok := obj.(*v1.PersistentVolumeClaim); ok {
				s.retryNamespace(c.Namespace)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := oldObj.(*v1.PersistentVolumeClaim)
			c, ok2 := newObj.(*v1.PersistentVolumeClaim)
			switch {
			case !ok1 || !ok2:
			case freesReservation(old, c):
				s.retryUnschedulable()
			case claimChanged(old, c):
				s.retryNamespace(c.Namespace)
			}
		},
		DeleteFunc: func(any) { s.retryUnschedulable() },
	})
	all := client.HandlerFuncs{
		AddFunc:    func(any) { s.retryUnschedulable() },
		UpdateFunc: func(any, any) { s.retryUnschedulable() },
		DeleteFunc: func(any) { s.retryUnschedulable() },
	}
	s.volumes.volumes.AddHandler(all)
	s.volumes.classes.AddHandler(all)
}

// freesReservation reports whether a claim gave up the device it was
// selected for: a changed or removed selection, or deletion.
func freesReservation(old, c *v1.PersistentVolumeClaim) bool {
	node, dev := old.Annotations[v1.AnnotationSelectedNode], old.Annotations[v1.AnnotationSelectedDevice]
	if node == "" {
		return false
	}
	return c.DeletionTimestamp != nil || c.Annotations[v1.AnnotationSelectedNode] != node || c.Annotations[v1.AnnotationSelectedDevice] != dev
}

// claimChanged reports a change that may let a waiting pod of the
// claim's namespace fit (the claim bound, being deleted), but not the
// scheduler's own selection of a node for it, which only takes room.
func claimChanged(old, c *v1.PersistentVolumeClaim) bool {
	return !reflect.DeepEqual(old.Spec, c.Spec) || (old.DeletionTimestamp == nil) != (c.DeletionTimestamp == nil)
}

// retryNamespace queues every pod of namespace that found no node, now.
func (s *Scheduler) retryNamespace(namespace string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.moves++
	for key := range s.unschedulable {
		if strings.HasPrefix(key, namespace+"/") {
			s.ctrl.Enqueue(key)
		}
	}
}
