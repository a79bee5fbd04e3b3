package member

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/events"
)

// The objects and names of fenced failover that the agent shares with
// the federation's controllers and the member's node agents (defined in
// api/v1, where they are documented).
const (
	LabelFenced                  = v1.LabelFenced
	AnnotationFencingPeriod      = v1.AnnotationFencingPeriod
	FenceConfigMap               = v1.FenceConfigMap
	FenceRenewed                 = v1.FenceRenewed
	AnnotationFencedByFederation = v1.AnnotationFencedByFederation
	// AnnotationFencedAt on a member workload says when the agent fenced
	// it (RFC 3339 time, nanoseconds): its pods were stopped and its
	// replicas are held at 0 until the member renews again.
	AnnotationFencedAt = "kennel.io/fenced-at"
	// WorkFenced is the Work condition that is True while the Work's
	// workload is fenced in the member.
	WorkFenced = "Fenced"
)

// Reasons of the fencing Events and of the Fenced condition.
const (
	// ReasonFenced: the member could not renew its membership in time,
	// so the agent stopped a fenceable workload's pods.
	ReasonFenced = "Fenced"
	// ReasonFenceLifted: the member renewed and re-applied its Works, so
	// the workload runs what its Work says again.
	ReasonFenceLifted = "FenceLifted"
	// ReasonFencedByFederation: the federation took the member's shares
	// away while it was cut off (Event on the fence ConfigMap).
	ReasonFencedByFederation = "FencedByFederation"
)

// maxStopGraceSeconds bounds the grace period of the pods a fence stops.
const maxStopGraceSeconds = 5

// fencing is the agent's part of fenced failover: after renewals it
// publishes the fence ConfigMap (publish.go), and while it cannot renew
// it stops fenceable workloads before their deadline (fenceLoop).
type fencing struct {
	a *agent
	w *works
	// wake tells fenceLoop to look again (a workload or the base
	// changed); renewals tells publishLoop that a renewal succeeded.
	wake     chan struct{}
	renewals chan struct{}

	mu sync.Mutex
	// base is the renewal last published in the fence ConfigMap (read
	// at start), zero while unknown: deadlines count from it.
	base time.Time
	// last is the latest successful renewal not yet published.
	last  *renewal
	dirty bool // Works must be re-listed and applied before publishing
	// processed is the last claim of the federation (on the Lease) this
	// member has handled: every fenceable Work carried it.
	processed string
	// announced is the last claim logged and recorded as an Event (by
	// publishLoop only).
	announced string
	cm        *v1.ConfigMap
	started   bool
}

// renewal is one successful renewal of the membership Lease.
type renewal struct {
	// sent is the agent's time when the renewal was sent.
	sent time.Time
	// claimed is a fenced-by-federation claim on the Lease this member
	// has not handled yet.
	claimed string
}

func newFencing(a *agent, w *works) *fencing {
	f := &fencing{a: a, w: w, wake: make(chan struct{}, 1), renewals: make(chan struct{}, 1), dirty: true}
	poke := client.HandlerFuncs{AddFunc: func(any) { f.poke() }, UpdateFunc: func(_, _ any) { f.poke() }}
	w.petsets.AddHandler(poke)
	w.deployments.AddHandler(poke)
	return f
}

func (f *fencing) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fencing) baseTime() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.base
}

// stopMargin is how long before the deadline a workload of period is
// stopped: Config.StopMargin, at most half the period.
func (f *fencing) stopMargin(period time.Duration) time.Duration {
	return min(f.a.cfg.StopMargin, period/2)
}

// workload is a member PetSet or Deployment applied from one of this
// member's Works whose pods are fenceable.
type workload struct {
	obj    v1.Object
	kind   string
	period time.Duration
}

// workloads are the fenceable workloads in the member, from the caches.
func (f *fencing) workloads() []workload {
	var out []workload
	add := func(obj v1.Object, kind string) {
		m := obj.GetObjectMeta()
		if !strings.HasPrefix(m.Annotations[v1.AnnotationFederationWork], f.w.ns+"/") || m.DeletionTimestamp != nil {
			return
		}
		if period, ok := fencingOf(obj); ok {
			out = append(out, workload{obj: obj, kind: kind, period: period})
		}
	}
	for _, ps := range f.w.petsets.List() {
		add(ps, "PetSet")
	}
	for _, d := range f.w.deployments.List() {
		add(d, "Deployment")
	}
	return out
}

// fenceLoop stops every fenceable workload whose stop point (base +
// fencing period - stop margin) has passed, and sleeps until the next
// one, or until a renewal or a workload changes.
func (f *fencing) fenceLoop(ctx context.Context) {
	if !f.w.petsets.WaitForSync(ctx) || !f.w.deployments.WaitForSync(ctx) {
		return
	}
	backoff := retryBase
	for {
		wait, err := f.fenceDue(ctx)
		var timer clock.Timer
		var due, retry <-chan time.Time
		if wait > 0 {
			timer = f.a.clock.NewTimer(wait)
			due = timer.C()
		}
		if err != nil && ctx.Err() == nil {
			f.a.log.Warn("cannot fence; will retry", "err", err, "retryIn", backoff)
			retry = time.After(backoff)
			backoff = min(backoff*2, retryMax)
		} else {
			backoff = retryBase
		}
		select {
		case <-ctx.Done():
		case <-f.wake:
		case <-due:
		case <-retry:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// fenceDue fences the workloads past their stop point and says how long
// until the next one's (0: none).
func (f *fencing) fenceDue(ctx context.Context) (time.Duration, error) {
	base := f.baseTime()
	if base.IsZero() {
		// Nothing published or read yet: the node agents' deadline is
		// each pod's start plus its period.
		return 0, nil
	}
	now := f.a.clock.Now()
	var wait time.Duration
	var errs []error
	for _, wl := range f.workloads() {
		stop := base.Add(wl.period - f.stopMargin(wl.period))
		if d := stop.Sub(now); d > 0 {
			if wait == 0 || d < wait {
				wait = d
			}
			continue
		}
		if err := f.fence(ctx, wl, base); err != nil {
			errs = append(errs, err)
		}
	}
	return wait, errors.Join(errs...)
}

// fence holds a workload at 0 replicas under the fenced-at annotation,
// then stops whatever pods of it are left with a short grace period.
func (f *fencing) fence(ctx context.Context, wl workload, base time.Time) error {
	kind, _ := f.a.reg.ByKind(wl.kind)
	if !isFenced(wl.obj) || replicasOf(wl.obj) != 0 {
		if err := f.hold(ctx, wl, kind, base); err != nil {
			return err
		}
	}
	return f.stopPods(ctx, wl)
}

// hold writes the fenced-at annotation and replicas 0.
func (f *fencing) hold(ctx context.Context, wl workload, kind *v1.Kind, base time.Time) error {
	res := client.ForKind(f.a.mem, kind, wl.obj.GetObjectMeta().Namespace)
	cur, err := res.Get(ctx, wl.obj.GetObjectMeta().Name)
	if err != nil {
		return ignoreNotFound(err)
	}
	m := cur.GetObjectMeta()
	if m.Labels[v1.LabelFederation] != f.a.federation || m.DeletionTimestamp != nil {
		return nil
	}
	next := v1.Clone(cur)
	nm := next.GetObjectMeta()
	first := nm.Annotations[AnnotationFencedAt] == ""
	if first {
		nm.Annotations = maps.Clone(nm.Annotations)
		if nm.Annotations == nil {
			nm.Annotations = map[string]string{}
		}
		nm.Annotations[AnnotationFencedAt] = f.a.clock.Now().UTC().Format(time.RFC3339Nano)
	}
	setReplicas(next, 0)
	if _, err := res.Update(ctx, next); err != nil {
		return fmt.Errorf("member: fence %s %s: %w", wl.kind, v1.ObjectKey(cur), err)
	}
	if first {
		f.a.log.Warn("fenced a workload: the membership was not renewed in time", "kind", wl.kind, "object", v1.ObjectKey(cur),
			"lastRenewal", base.UTC().Format(time.RFC3339Nano), "fencingPeriod", wl.period)
		f.a.events.Recordf(ctx, next, kind.Kind, kind.APIVersion(), v1.EventTypeWarning, ReasonFenced,
			"the member has not renewed its federation membership since %s (fencing period %s): its pods are stopped and its replicas held at 0 until it renews",
			base.UTC().Format(time.RFC3339Nano), wl.period)
	}
	return nil
}

// stopPods deletes the workload's fenceable pods with a grace period of
// at most maxStopGraceSeconds; pods already stopping within it are left.
func (f *fencing) stopPods(ctx context.Context, wl workload) error {
	sel := selectorOf(wl.obj)
	if sel == nil {
		return nil
	}
	s, err := sel.AsSelector()
	if err != nil || s.Empty() {
		// An invalid selector, or one selecting every pod, names no pods
		// of this workload alone.
		return nil
	}
	ns := wl.obj.GetObjectMeta().Namespace
	pods := client.For[*v1.Pod](f.a.mem, ns)
	list, err := pods.ListAll(ctx, client.ListOptions{LabelSelector: s.String() + "," + LabelFenced + "=true"})
	if err != nil {
		return fmt.Errorf("member: fence %s %s/%s: list its pods: %w", wl.kind, ns, wl.obj.GetObjectMeta().Name, err)
	}
	var errs []error
	for _, p := range list.Items {
		grace := stopGrace(p)
		if g := p.DeletionGracePeriodSeconds; p.DeletionTimestamp != nil && g != nil && *g <= grace {
			continue
		}
		uid := p.UID
		_, err := pods.Delete(ctx, p.Name, client.DeleteOptions{GracePeriodSeconds: &grace, Preconditions: &client.Preconditions{UID: &uid}})
		if err = ignoreNotFound(err); err != nil && !v1.IsConflict(err) {
			errs = append(errs, fmt.Errorf("member: fence %s %s/%s: stop pod %s: %w", wl.kind, ns, wl.obj.GetObjectMeta().Name, p.Name, err))
			continue
		}
		f.a.log.Info("stopped a fenced pod", "pod", ns+"/"+p.Name, "gracePeriodSeconds", grace)
	}
	return errors.Join(errs...)
}

// stopGrace is the grace period a fence gives a pod: its own, at most
// maxStopGraceSeconds and at least one second — a delete asking for 0
// would remove the pod object while its processes still run.
func stopGrace(p *v1.Pod) int64 {
	g := v1.DefaultTerminationGracePeriodSeconds
	if p.Spec.TerminationGracePeriodSeconds != nil {
		g = *p.Spec.TerminationGracePeriodSeconds
	}
	return max(min(g, maxStopGraceSeconds), 1)
}

// fencingOf reports whether a PetSet's or Deployment's pods are
// fenceable, and their fencing period.
func fencingOf(obj v1.Object) (time.Duration, bool) {
	tmpl := templateOf(obj)
	if tmpl == nil || tmpl.Labels[LabelFenced] != "true" {
		return 0, false
	}
	return fencingPeriod(tmpl.Annotations[AnnotationFencingPeriod]), true
}

// fencingPeriod reads the fencing-period annotation; what is not a
// positive duration is v1.DefaultFencingPeriod.
func fencingPeriod(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return v1.DefaultFencingPeriod
	}
	return d
}

func templateOf(obj v1.Object) *v1.PodTemplateSpec {
	switch o := obj.(type) {
	case *v1.PetSet:
		return &o.Spec.Template
	case *v1.Deployment:
		return &o.Spec.Template
	}
	return nil
}

func selectorOf(obj v1.Object) *v1.LabelSelector {
	switch o := obj.(type) {
	case *v1.PetSet:
		return o.Spec.Selector
	case *v1.Deployment:
		return o.Spec.Selector
	}
	return nil
}

// replicasOf is a workload's replicas; -1 for other objects and unset.
func replicasOf(obj v1.Object) int32 {
	var r *int32
	switch o := obj.(type) {
	case *v1.PetSet:
		r = o.Spec.Replicas
	case *v1.Deployment:
		r = o.Spec.Replicas
	}
	if r == nil {
		return -1
	}
	return *r
}

func setReplicas(obj v1.Object, n int32) {
	switch o := obj.(type) {
	case *v1.PetSet:
		o.Spec.Replicas = &n
	case *v1.Deployment:
		o.Spec.Replicas = &n
	}
}

// isFenced reports whether a member object carries the fenced-at
// annotation (nil: no).
func isFenced(obj v1.Object) bool {
	return obj != nil && obj.GetObjectMeta().Annotations[AnnotationFencedAt] != ""
}

// newRecorder records the agent's Events in the member.
func newRecorder(a *agent) *events.Recorder {
	return &events.Recorder{Client: a.mem, Component: "federation-agent", Instance: a.cfg.Cluster, OffNode: true,
		Clock: a.clock, Logger: a.log}
}
