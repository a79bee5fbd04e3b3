package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// applyAttempts bounds the re-read and re-merge after a conflict with a
// concurrent writer (usually a controller updating metadata).
const applyAttempts = 5

type applyOptions struct {
	files     []string
	recursive bool
}

func newApplyCommand(g *globalOptions) *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|- [-f ...]",
		Short: "Create or update objects from manifests",
		Long: `Create or update the objects of YAML or JSON manifests, in order.

Every document is decoded strictly before anything is applied: an unknown
field, a value of the wrong type or an unknown kind is reported with the file,
the document and the path of the field, and nothing is applied.

An object that does not exist is created. One that exists is updated: its spec
and labels are replaced by the manifest's, annotations from the manifest are
merged over the existing ones, and the status, finalizers and owner references
that Kennel set are kept unless the manifest sets them. An update that changes
nothing is reported as "unchanged".`,
		Example: `  # Apply one manifest
  kennel apply -f petset.yaml

  # Apply every manifest of a directory tree
  kennel apply -f manifests/ -R

  # Apply from standard input
  cat db.yaml | kennel apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runApply(cmd.Context(), g, o) },
	}
	cmd.Flags().StringArrayVarP(&o.files, "filename", "f", nil, "manifest file, directory, or - for standard input (repeatable)")
	cmd.Flags().BoolVarP(&o.recursive, "recursive", "R", false, "descend into subdirectories of directories given with -f")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func runApply(ctx context.Context, g *globalOptions, o *applyOptions) error {
	ms, err := readManifests(g, o.files, o.recursive)
	if err != nil {
		return err
	}
	c, err := g.Client()
	if err != nil {
		return err
	}
	def := g.Namespace()
	for _, m := range ms {
		res := client.ForKind(c, m.kind, namespaceFor(m, def))
		result, err := applyOne(ctx, res, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m.ref(), err)
		}
		fmt.Fprintf(g.streams.Out, "%s %s\n", m.ref(), result)
	}
	return nil
}

// applyOne creates or updates one object and says which it did.
func applyOne(ctx context.Context, res *client.Resource[v1.Object], m manifest) (string, error) {
	var err error
	for range applyAttempts {
		var live v1.Object
		live, err = res.Get(ctx, m.obj.GetObjectMeta().Name)
		if v1.IsNotFound(err) {
			obj, cerr := prepare(m, nil)
			if cerr != nil {
				return "", cerr
			}
			if _, err = res.Create(ctx, obj); v1.IsAlreadyExists(err) {
				continue // created meanwhile: update it instead
			}
			if err != nil {
				return "", err
			}
			return "created", nil
		}
		if err != nil {
			return "", err
		}
		obj, merr := prepare(m, live)
		if merr != nil {
			return "", merr
		}
		updated, uerr := res.Update(ctx, obj)
		if v1.IsConflict(uerr) {
			err = uerr
			continue
		}
		if uerr != nil {
			return "", uerr
		}
		if updated.GetObjectMeta().ResourceVersion == live.GetObjectMeta().ResourceVersion {
			return "unchanged", nil
		}
		return "configured", nil
	}
	return "", fmt.Errorf("gave up after %d conflicting updates: %w", applyAttempts, err)
}

// prepare copies the manifest's object and, when the object exists,
// merges what the cluster owns into the copy. The manifest itself is left
// alone so a retry starts from it again.
func prepare(m manifest, live v1.Object) (v1.Object, error) {
	obj, err := cloneAs(m.kind, m.obj)
	if err != nil {
		return nil, err
	}
	obj.GetObjectMeta().Namespace = namespaceFor(m, obj.GetObjectMeta().Namespace)
	if live == nil {
		return obj, nil
	}
	mergeLive(obj, live)
	// Default as the server will, so that the server sees the spec
	// unchanged when only defaulted fields were left out of the manifest
	// (it compares before defaulting when it decides to bump generation).
	if m.kind.Default != nil {
		m.kind.Default(obj)
	}
	return obj, nil
}

// mergeLive makes obj an update of live: spec and labels from the
// manifest; annotations merged, manifest winning; status, finalizers and
// owner references kept unless the manifest sets them; system metadata
// (uid, resourceVersion, generation, timestamps) from live.
func mergeLive(obj, live v1.Object) {
	m, lm := obj.GetObjectMeta(), live.GetObjectMeta()
	merged := *lm
	merged.Labels = m.Labels
	if len(lm.Annotations)+len(m.Annotations) > 0 {
		merged.Annotations = maps.Clone(lm.Annotations)
		if merged.Annotations == nil {
			merged.Annotations = map[string]string{}
		}
		maps.Copy(merged.Annotations, m.Annotations)
	}
	if m.Finalizers != nil {
		merged.Finalizers = m.Finalizers
	}
	if m.OwnerReferences != nil {
		merged.OwnerReferences = m.OwnerReferences
	}
	*m = merged
	keepStatus(obj, live)
	keepAssigned(obj, live)
}

// keepAssigned keeps the spec fields that the cluster fills in after
// creation — the scheduler's node, the allocated cluster IP, the binder's
// volume and claim — when the manifest leaves them out, as kubectl's
// three-way merge does. Replacing them with nothing would be refused as
// a change of an immutable field.
func keepAssigned(obj, live v1.Object) {
	switch o := obj.(type) {
	case *v1.Pod:
		if l, ok := live.(*v1.Pod); ok && o.Spec.NodeName == "" {
			o.Spec.NodeName = l.Spec.NodeName
		}
	case *v1.Service:
		if l, ok := live.(*v1.Service); ok && o.Spec.ClusterIP == "" && len(o.Spec.ClusterIPs) == 0 {
			o.Spec.ClusterIP, o.Spec.ClusterIPs = l.Spec.ClusterIP, l.Spec.ClusterIPs
		}
	case *v1.PersistentVolumeClaim:
		if l, ok := live.(*v1.PersistentVolumeClaim); ok && o.Spec.VolumeName == "" {
			o.Spec.VolumeName = l.Spec.VolumeName
		}
	case *v1.PersistentVolume:
		if l, ok := live.(*v1.PersistentVolume); ok && o.Spec.ClaimRef == nil {
			o.Spec.ClaimRef = l.Spec.ClaimRef
		}
	}
}

// keepStatus copies live's status into obj when the manifest has none.
func keepStatus(obj, live v1.Object) {
	dst := reflect.ValueOf(obj).Elem().FieldByName("Status")
	src := reflect.ValueOf(live).Elem().FieldByName("Status")
	if dst.IsValid() && src.IsValid() && dst.CanSet() && dst.IsZero() && dst.Type() == src.Type() {
		dst.Set(src)
	}
}

// cloneAs deep-copies o into a new object of kind k.
func cloneAs(k *v1.Kind, o v1.Object) (v1.Object, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", k.Kind, err)
	}
	out := k.New()
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("decode %s: %w", k.Kind, err)
	}
	return out, nil
}
