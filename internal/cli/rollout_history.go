package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// changeCauseAnnotation records why a template changed; the PetSet
// controller copies the set's annotations onto each revision it makes.
const changeCauseAnnotation = "kubernetes.io/change-cause"

type rolloutHistoryOptions struct {
	revision int64
}

func newRolloutHistoryCommand(g *globalOptions) *cobra.Command {
	o := &rolloutHistoryOptions{}
	cmd := &cobra.Command{
		Use:   "history (petset|statefulset) NAME",
		Short: "List the revisions of a PetSet's pod template, or print one",
		Long: `List the revisions of a PetSet's pod template: the ControllerRevisions the set
owns, oldest first, with the kubernetes.io/change-cause annotation the set
had when the revision was made. With --revision N print that revision's pod
template as YAML.

Only PetSets keep revisions; Kennel's Deployments keep none.`,
		Example: `  # The revisions of db
  kennel rollout history petset db

  # The pod template of revision 2
  kennel rollout history sts/db --revision 2

  # Record why, when changing the template, for the CHANGE-CAUSE column
  kennel apply -f db.yaml   # with metadata.annotations["kubernetes.io/change-cause"]`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeKindsAndNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRolloutHistory(cmd.Context(), g, o, args)
		},
	}
	cmd.Flags().Int64Var(&o.revision, "revision", 0, "print the pod template of this revision")
	return cmd
}

type rolloutUndoOptions struct {
	toRevision int64
}

func newRolloutUndoCommand(g *globalOptions) *cobra.Command {
	o := &rolloutUndoOptions{}
	cmd := &cobra.Command{
		Use:   "undo (petset|statefulset) NAME [--to-revision N]",
		Short: "Put an earlier revision's pod template back",
		Long: `Replace a PetSet's spec.template with the template of an earlier revision:
the previous one (the second newest), or --to-revision N. This is a new
rollout, done as any other: pets are replaced from the highest ordinal down
and the template becomes the newest revision again. "kennel rollout status"
follows it.

Only the pod template changes: replicas, the update strategy and the volume
claim templates stay as they are.`,
		Example: `  # The new template is broken: go back to the one before
  kennel rollout undo petset db
  kennel rollout status petset db

  # Go back to revision 3
  kennel rollout undo sts/db --to-revision 3`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeKindsAndNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRolloutUndo(cmd.Context(), g, o, args)
		},
	}
	cmd.Flags().Int64Var(&o.toRevision, "to-revision", 0, "the revision to go back to (0: the previous one)")
	return cmd
}

func runRolloutHistory(ctx context.Context, g *globalOptions, o *rolloutHistoryOptions, args []string) error {
	if o.revision < 0 {
		return fmt.Errorf("rollout history: --revision %d: must be positive", o.revision)
	}
	w, c, err := petSetWorkload(g, "rollout history", args)
	if err != nil {
		return err
	}
	set, revs, err := petSetHistory(ctx, c, w)
	if err != nil {
		return fmt.Errorf("rollout history %s in namespace %s: %w", w.ref(), w.ns, err)
	}
	out := g.streams.Out
	if o.revision > 0 {
		rev, err := findRevision(revs, o.revision)
		if err != nil {
			return fmt.Errorf("rollout history %s: %w", w.ref(), err)
		}
		t, err := revisionTemplate(rev)
		if err != nil {
			return fmt.Errorf("rollout history %s: %w", w.ref(), err)
		}
		return encode(out, outputYAML, t)
	}
	if len(revs) == 0 {
		fmt.Fprintf(out, "%s has no revisions yet: the PetSet controller has not synced %s\n", w.ref(), v1.ObjectKey(set))
		return nil
	}
	fmt.Fprintf(out, "%s\n", w.ref())
	rows := [][]string{{"REVISION", "CHANGE-CAUSE"}}
	for _, r := range revs {
		rows = append(rows, []string{itoa(r.Revision), orNone(r.Annotations[changeCauseAnnotation])})
	}
	(&table{w: out}).print(rows)
	return nil
}

func runRolloutUndo(ctx context.Context, g *globalOptions, o *rolloutUndoOptions, args []string) error {
	if o.toRevision < 0 {
		return fmt.Errorf("rollout undo: --to-revision %d: must be positive", o.toRevision)
	}
	w, c, err := petSetWorkload(g, "rollout undo", args)
	if err != nil {
		return err
	}
	sets := client.For[*v1.PetSet](c, w.ns)
	for range conflictRetries {
		set, revs, err := petSetHistory(ctx, c, w)
		if err != nil {
			return fmt.Errorf("rollout undo %s in namespace %s: %w", w.ref(), w.ns, err)
		}
		rev, err := undoTarget(revs, o.toRevision)
		if err != nil {
			return fmt.Errorf("rollout undo %s: %w", w.ref(), err)
		}
		t, err := revisionTemplate(rev)
		if err != nil {
			return fmt.Errorf("rollout undo %s: %w", w.ref(), err)
		}
		if sameTemplate(set.Spec.Template, t) {
			fmt.Fprintf(g.streams.Out, "%s skipped rollback (current template already matches revision %d)\n", w.ref(), rev.Revision)
			return nil
		}
		set.Spec.Template = t
		_, err = sets.Update(ctx, set)
		if v1.IsConflict(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("rollout undo %s to revision %d: %w", w.ref(), rev.Revision, err)
		}
		fmt.Fprintf(g.streams.Out, "%s rolled back to revision %d\n", w.ref(), rev.Revision)
		return nil
	}
	return fmt.Errorf("rollout undo %s: the set kept changing while being updated: try again", w.ref())
}

// petSetWorkload parses a PetSet's name and returns the client.
func petSetWorkload(g *globalOptions, verb string, args []string) (workload, *client.Client, error) {
	w, err := parseWorkload(g, verb, args, "petsets")
	if err != nil {
		return workload{}, nil, err
	}
	c, err := g.Client()
	return w, c, err
}

// petSetHistory reads the set and the revisions it owns (by the owner
// reference's UID), oldest first.
func petSetHistory(ctx context.Context, c *client.Client, w workload) (*v1.PetSet, []*v1.ControllerRevision, error) {
	set, err := client.For[*v1.PetSet](c, w.ns).Get(ctx, w.name)
	if err != nil {
		return nil, nil, err
	}
	l, err := client.For[*v1.ControllerRevision](c, w.ns).ListAll(ctx, client.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("list controllerrevisions: %w", err)
	}
	var revs []*v1.ControllerRevision
	for _, r := range l.Items {
		for _, ref := range r.OwnerReferences {
			if ref.UID == set.UID {
				revs = append(revs, r)
				break
			}
		}
	}
	sort.SliceStable(revs, func(i, j int) bool { return revs[i].Revision < revs[j].Revision })
	return set, revs, nil
}

// findRevision is the revision numbered n.
func findRevision(revs []*v1.ControllerRevision, n int64) (*v1.ControllerRevision, error) {
	var have []string
	for _, r := range revs {
		if r.Revision == n {
			return r, nil
		}
		have = append(have, itoa(r.Revision))
	}
	return nil, fmt.Errorf("no revision %d (revisions: %s)", n, joinOrNone(have))
}

// undoTarget is revision n, or with n 0 the previous revision: the second
// newest, the newest being the template the set has now.
func undoTarget(revs []*v1.ControllerRevision, n int64) (*v1.ControllerRevision, error) {
	if n > 0 {
		return findRevision(revs, n)
	}
	if len(revs) < 2 {
		return nil, fmt.Errorf("no previous revision to roll back to (%d %s)", len(revs), plural(len(revs), "revision", "revisions"))
	}
	return revs[len(revs)-2], nil
}

// revisionTemplate decodes the pod template a revision stores. The data
// is what Kubernetes stores for a StatefulSet, a patch that replaces the
// template: {"spec":{"template":{"$patch":"replace",...}}}; the "$patch"
// key, wherever it is, is not a field of the template and is dropped.
func revisionTemplate(rev *v1.ControllerRevision) (v1.PodTemplateSpec, error) {
	var snap struct {
		Spec struct {
			Template *v1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data, &snap); err != nil {
		return v1.PodTemplateSpec{}, fmt.Errorf("revision %d (%s): decode data: %w", rev.Revision, rev.Name, err)
	}
	if snap.Spec.Template == nil {
		return v1.PodTemplateSpec{}, fmt.Errorf("revision %d (%s): data has no spec.template", rev.Revision, rev.Name)
	}
	return *snap.Spec.Template, nil
}

// sameTemplate reports whether two templates encode alike.
func sameTemplate(a, b v1.PodTemplateSpec) bool {
	ja, errA := json.Marshal(&a)
	jb, errB := json.Marshal(&b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
