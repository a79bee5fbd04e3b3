package controller

import (
	"reflect"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// wireHandlers says which change wakes which controller.
func (fc *Controller) wireHandlers() {
	clusterChanged := func(obj any) {
		if c, ok := obj.(*v1.Cluster); ok {
			fc.clusterQ.Enqueue(c.Name)
		}
		// A cluster joining, leaving or changing labels, health or
		// capacity can change every placement and every shard.
		fc.enqueueAllPlacements("")
		fc.enqueueAllServices()
	}
	fc.clusters.AddHandler(client.HandlerFuncs{
		AddFunc:    clusterChanged,
		DeleteFunc: clusterChanged,
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*v1.Cluster)
			n, ok2 := newObj.(*v1.Cluster)
			if ok1 && ok2 && !placementRelevant(o, n) {
				fc.clusterQ.Enqueue(n.Name)
				return
			}
			clusterChanged(newObj)
		},
	})
	fc.leases.AddHandler(onAny(func(obj any) {
		if l, ok := obj.(*v1.Lease); ok {
			fc.clusterQ.Enqueue(l.Name)
		}
	}))
	fc.placements.AddHandler(client.HandlerFuncs{
		AddFunc:    func(obj any) { fc.placementChanged(obj, true) },
		DeleteFunc: func(obj any) { fc.placementChanged(obj, true) },
		UpdateFunc: func(oldObj, newObj any) {
			o, _ := oldObj.(*v1.Placement)
			n, _ := newObj.(*v1.Placement)
			spec := o == nil || n == nil || o.Generation != n.Generation || !reflect.DeepEqual(o.Spec, n.Spec)
			if spec && o != nil {
				fc.placementChanged(oldObj, true) // the objects it no longer selects
			}
			fc.placementChanged(newObj, spec)
		},
	})
	fc.works.AddHandler(onAny(func(obj any) {
		if w, ok := obj.(*v1.Work); ok {
			fc.placementQ.Enqueue(w.Spec.Source.Namespace + "/" + w.Spec.Placement)
			fc.statusQ.Enqueue(sourceKey(w.Spec.Source))
			if w.Spec.Source.Kind == "PetSet" {
				for _, m := range fc.migrations.ByIndex(bySet, w.Spec.Source.Namespace+"/"+w.Spec.Source.Name) {
					fc.migrateQ.Enqueue(v1.ObjectKey(m))
				}
			}
		}
	}))
	// A FederatedEndpoints the cache did not show yet when a sync wrote
	// it (Create met AlreadyExists, Update a newer version), or that
	// someone else changed, is written again from what it should be once
	// the cache shows it.
	fc.fedEps.AddHandler(onAny(func(obj any) {
		if fe, ok := obj.(*v1.FederatedEndpoints); ok && fe.Spec.Service != "" {
			fc.statusQ.Enqueue(sourceKey(v1.ObjectReference{Kind: "Service", Namespace: fe.Spec.Namespace, Name: fe.Spec.Service}))
		}
	}))
	fc.migrations.AddHandler(onAny(func(obj any) {
		if m, ok := obj.(*v1.Migration); ok {
			fc.migrateQ.Enqueue(v1.ObjectKey(m))
			// The shares follow the phase: the placement is synced once
			// this cache shows it.
			for _, w := range fc.petSetWorks(m.Namespace, m.Spec.PetSet) {
				fc.placementQ.Enqueue(m.Namespace + "/" + w.Spec.Placement)
			}
		}
	}))
	for kind, inf := range fc.objects {
		enqueue := func(obj any) {
			if o, ok := obj.(v1.Object); ok {
				m := o.GetObjectMeta()
				for _, p := range fc.selecting(kind, m.Namespace, m.Name) {
					fc.placementQ.Enqueue(p.Namespace + "/" + p.Name)
				}
				fc.statusQ.Enqueue(sourceKey(v1.ObjectReference{Kind: kind, Namespace: m.Namespace, Name: m.Name}))
			}
		}
		inf.AddHandler(client.HandlerFuncs{AddFunc: enqueue, DeleteFunc: enqueue,
			UpdateFunc: func(_, newObj any) { enqueue(newObj) }})
	}
}

// placementChanged enqueues the placement and, when its spec changed
// (or it came or went), the placements that may select the same objects.
func (fc *Controller) placementChanged(obj any, spec bool) {
	p, ok := obj.(*v1.Placement)
	if !ok {
		return
	}
	fc.placementQ.Enqueue(p.Namespace + "/" + p.Name)
	if !spec {
		return
	}
	for _, rs := range p.Spec.ResourceSelectors {
		k, ok := fc.c.Registry().Lookup(rs.Kind)
		if !ok {
			continue
		}
		var peers []*v1.Placement
		if rs.Name != "" {
			peers = fc.selecting(k.Kind, p.Namespace, rs.Name)
		} else {
			peers = fc.placements.ByIndex(bySelector, k.Kind+"/"+p.Namespace)
		}
		for _, q := range peers {
			fc.placementQ.Enqueue(q.Namespace + "/" + q.Name)
		}
	}
}

// selecting are the placements that may select object kind ns/name: by
// its name or by a label selector.
func (fc *Controller) selecting(kind, ns, name string) []*v1.Placement {
	return append(fc.placements.ByIndex(bySelector, kind+"/"+ns+"/"+name), fc.placements.ByIndex(bySelector, kind+"/"+ns+"/*")...)
}

// enqueueAllPlacements enqueues the placements of ns ("": all).
func (fc *Controller) enqueueAllPlacements(ns string) {
	for _, p := range fc.placements.List() {
		if ns == "" || p.Namespace == ns {
			fc.placementQ.Enqueue(p.Namespace + "/" + p.Name)
		}
	}
}

// enqueueAllServices enqueues the status of every federated Service.
func (fc *Controller) enqueueAllServices() {
	for _, o := range fc.objects["Service"].List() {
		m := o.GetObjectMeta()
		fc.statusQ.Enqueue(sourceKey(v1.ObjectReference{Kind: "Service", Namespace: m.Namespace, Name: m.Name}))
	}
}

// onAny calls f on adds, updates and deletes (with the last known object).
func onAny(f func(obj any)) client.HandlerFuncs {
	return client.HandlerFuncs{
		AddFunc:    f,
		UpdateFunc: func(_, newObj any) { f(newObj) },
		DeleteFunc: f,
	}
}

// placementRelevant reports whether a Cluster update can change a
// placement: its labels, spec, readiness or free capacity (a renewal
// alone cannot).
func placementRelevant(o, n *v1.Cluster) bool {
	if !reflect.DeepEqual(o.Labels, n.Labels) || !reflect.DeepEqual(o.Spec, n.Spec) || isReady(o) != isReady(n) {
		return true
	}
	return !reflect.DeepEqual(o.Status.Free, n.Status.Free)
}
