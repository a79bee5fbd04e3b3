package member

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// appliedObject is one member object a federation agent applied from a
// Work.
type appliedObject struct {
	kind *v1.Kind
	obj  v1.Object
	// work is the key of the Work it was applied from.
	work string
}

// listApplied lists every member object that carries the federation's
// label and a Work annotation, over every kind a Work may place. It
// lists every kind it can and joins the errors of those it cannot.
func listApplied(ctx context.Context, mem *client.Client, federation string) ([]appliedObject, error) {
	var out []appliedObject
	var errs []error
	for _, kind := range mem.Registry().All() {
		if !placeable(kind.Kind) {
			continue
		}
		list, err := client.ForKind(mem, kind, "").ListAll(ctx, client.ListOptions{LabelSelector: v1.LabelFederation + "=" + federation})
		if err != nil {
			errs = append(errs, fmt.Errorf("member: list %s of federation %s: %w", kind.Resource, federation, err))
			continue
		}
		for _, obj := range list.Items {
			if work := obj.GetObjectMeta().Annotations[v1.AnnotationFederationWork]; work != "" {
				out = append(out, appliedObject{kind: kind, obj: obj, work: work})
			}
		}
	}
	return out, errors.Join(errs...)
}

// sweep deletes the member objects applied from a Work of this member
// that no longer exists, or that now applies another object: what a
// deletion made on the federation while the agent was away leaves
// behind. It runs only once the Works are cached, and an object is kept
// whenever its Work's manifest cannot be read.
func (w *works) sweep(ctx context.Context) error {
	objs, err := listApplied(ctx, w.a.mem, w.a.federation)
	for _, o := range objs {
		ns, _, _ := strings.Cut(o.work, "/")
		if ns != w.ns || w.stillApplies(o) {
			continue
		}
		res := client.ForKind(w.a.mem, o.kind, o.obj.GetObjectMeta().Namespace)
		if o.obj.GetObjectMeta().DeletionTimestamp != nil {
			continue
		}
		if derr := deleteObject(ctx, res, o.obj); derr != nil {
			err = errors.Join(err, fmt.Errorf("member: delete %s %s of gone Work %s: %w", o.kind.Kind, v1.ObjectKey(o.obj), o.work, derr))
			continue
		}
		w.a.log.Info("deleted the object of a gone Work", "work", o.work, "kind", o.kind.Kind, "object", v1.ObjectKey(o.obj))
	}
	return err
}

// stillApplies reports whether o's Work exists and applies o (or cannot
// be read, which keeps o).
func (w *works) stillApplies(o appliedObject) bool {
	work, ok, _ := w.current(o.work)
	if !ok || work.DeletionTimestamp != nil {
		return false
	}
	ref, err := targetOf(w.a.reg, work)
	return err != nil || ref == refOf(o.kind, o.obj)
}
