package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

func newRolloutCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Follow, list and undo changes of a PetSet's pod template",
		Long: `Follow, list and undo rollouts. A PetSet rolls out a new pod template by
replacing its pets one at a time from the highest ordinal down; each template
it has run is kept as a numbered revision (a ControllerRevision owned by the
set), up to spec.revisionHistoryLimit.

  status   wait until the rollout is complete (PetSets and Deployments)
  history  list the revisions of a PetSet, or print one
  undo     put an earlier revision's template back (a new rollout)`,
		Example: `  # Wait until the new template of db runs on every pet
  kennel rollout status petset db

  # Which revisions are there, and what is in revision 2?
  kennel rollout history petset db
  kennel rollout history petset db --revision 2

  # Go back to the previous template
  kennel rollout undo petset db`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newRolloutStatusCommand(g), newRolloutHistoryCommand(g), newRolloutUndoCommand(g))
	return cmd
}

type rolloutStatusOptions struct {
	watch   bool
	timeout time.Duration
}

func newRolloutStatusCommand(g *globalOptions) *cobra.Command {
	o := &rolloutStatusOptions{}
	cmd := &cobra.Command{
		Use:   "status (petset|statefulset|deployment) NAME",
		Short: "Wait until a rollout is complete, printing its progress",
		Long: `Print the progress of a rollout and wait until it is complete.

A PetSet's rollout is complete when the controller has seen the latest spec
(status.observedGeneration), every pet is Ready, and every pet runs the new
template (updatedReplicas = replicas, currentRevision = updateRevision). With
rollingUpdate.partition P only ordinals >= P are updated, so the rollout is
complete once replicas - P pets are. A PetSet with the OnDelete strategy has
no rollout to wait for: its pets change only when deleted.

A Deployment's rollout is complete when every replica runs the new template
and is available, and no old pod is left.

With --watch=false the current progress is printed once and the command
succeeds whether or not the rollout is complete.`,
		Example: `  # Wait until every pet of db runs the new template
  kennel rollout status petset db

  # Give up after 2 minutes (the command then fails)
  kennel rollout status sts/db --timeout 2m

  # Where is the rollout now?
  kennel rollout status deployment web --watch=false`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeKindsAndNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRolloutStatus(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.watch, "watch", "w", true, "wait until the rollout is complete")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait before failing")
	return cmd
}

func runRolloutStatus(ctx context.Context, g *globalOptions, o *rolloutStatusOptions, args []string) error {
	if o.timeout <= 0 {
		return fmt.Errorf("rollout status: --timeout %s: must be positive", o.timeout)
	}
	w, err := parseWorkload(g, "rollout status", args, "petsets", "deployments")
	if err != nil {
		return err
	}
	c, err := g.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	s := &statusPrinter{g: g, w: w}
	res := client.ForKind(c, w.kind, w.ns)
	for {
		obj, err := res.Get(ctx, w.name)
		if err != nil {
			return s.failed(ctx, o, err)
		}
		done, err := s.show(obj)
		if err != nil || done || !o.watch {
			return err
		}
		done, err = s.follow(ctx, res, obj.GetObjectMeta().ResourceVersion)
		if err != nil {
			return s.failed(ctx, o, err)
		}
		if done {
			return nil
		}
		// The stream ended: read the object again, after a pause so that
		// a server refusing watches is not asked in a tight loop.
		select {
		case <-ctx.Done():
			return s.failed(ctx, o, ctx.Err())
		case <-time.After(pollMin):
		}
	}
}

// statusPrinter prints a rollout's progress, each message once.
type statusPrinter struct {
	g    *globalOptions
	w    workload
	last string
}

// show prints obj's progress if it changed, and reports whether the
// rollout is complete.
func (s *statusPrinter) show(obj v1.Object) (bool, error) {
	msg, done, err := rolloutStatus(s.w, obj)
	if err != nil {
		return false, fmt.Errorf("rollout status %s: %w", s.w.ref(), err)
	}
	if msg != s.last {
		fmt.Fprintln(s.g.streams.Out, msg)
		s.last = msg
	}
	return done, nil
}

// follow watches the object from rv until its rollout is complete or the
// stream ends.
func (s *statusPrinter) follow(ctx context.Context, res *client.Resource[v1.Object], rv string) (bool, error) {
	wt, err := res.Watch(ctx, client.ListOptions{FieldSelector: "metadata.name=" + s.w.name, ResourceVersion: rv})
	if err != nil {
		return false, err
	}
	defer wt.Stop()
	for ev := range wt.Events() {
		switch ev.Type {
		case client.Error:
			if v1.IsGone(ev.Err) {
				return false, nil // compacted: read the object again
			}
			return false, ev.Err
		case client.Deleted:
			return false, fmt.Errorf("%s was deleted", s.w.ref())
		}
		if done, err := s.show(ev.Object); err != nil || done {
			return done, err
		}
	}
	return false, ctx.Err()
}

// failed is the error of a status wait that ended with err: a timeout
// names the last progress seen.
func (s *statusPrinter) failed(ctx context.Context, o *rolloutStatusOptions, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		last := ""
		if s.last != "" {
			last = ": " + s.last
		}
		return fmt.Errorf("rollout status %s: timed out after %s waiting for the rollout to complete%s", s.w.ref(), o.timeout, last)
	}
	return fmt.Errorf("rollout status %s in namespace %s: %w", s.w.ref(), s.w.ns, err)
}

// rolloutStatus is the progress message of obj's rollout and whether it
// is complete; the messages are kubectl's.
func rolloutStatus(w workload, obj v1.Object) (string, bool, error) {
	switch o := obj.(type) {
	case *v1.PetSet:
		return petSetRolloutStatus(w.word, o)
	case *v1.Deployment:
		return deploymentRolloutStatus(o)
	}
	return "", false, fmt.Errorf("%T has no rollout", obj)
}

func petSetRolloutStatus(word string, s *v1.PetSet) (string, bool, error) {
	if s.Spec.UpdateStrategy.Type == v1.OnDeletePetSetStrategyType {
		return "", false, errors.New("the OnDelete update strategy has no rollout to wait for: pets get the new template only when deleted; " +
			"use RollingUpdate, or watch the pets with kennel get pods -w")
	}
	st := &s.Status
	if st.ObservedGeneration == 0 || s.Generation > st.ObservedGeneration {
		return fmt.Sprintf("Waiting for %s spec update to be observed...", word), false, nil
	}
	want := s.DesiredReplicas()
	if st.ReadyReplicas < want {
		return fmt.Sprintf("Waiting for %d pods to be ready...", want-st.ReadyReplicas), false, nil
	}
	if st.Replicas > want {
		return fmt.Sprintf("Waiting for %d pods to be removed...", st.Replicas-want), false, nil
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		updating := max(0, want-*ru.Partition)
		if st.UpdatedReplicas < updating {
			return fmt.Sprintf("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...",
				st.UpdatedReplicas, updating), false, nil
		}
		return fmt.Sprintf("partitioned roll out complete: %d new pods have been updated...", st.UpdatedReplicas), true, nil
	}
	if st.UpdatedReplicas < want || st.CurrentRevision != st.UpdateRevision {
		return fmt.Sprintf("waiting for %s rolling update to complete %d pods at revision %s...",
			word, st.UpdatedReplicas, st.UpdateRevision), false, nil
	}
	return fmt.Sprintf("%s rolling update complete %d pods at revision %s...", word, st.CurrentReplicas, st.CurrentRevision), true, nil
}

// deploymentProgressDeadlineExceeded is the Progressing condition's
// reason once a rollout made no progress for progressDeadlineSeconds.
const deploymentProgressDeadlineExceeded = "ProgressDeadlineExceeded"

func deploymentRolloutStatus(d *v1.Deployment) (string, bool, error) {
	st := &d.Status
	if d.Generation > st.ObservedGeneration {
		return "Waiting for deployment spec update to be observed...", false, nil
	}
	for _, c := range st.Conditions {
		if c.Type == v1.DeploymentProgressing && c.Reason == deploymentProgressDeadlineExceeded {
			return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", d.Name)
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	switch {
	case st.UpdatedReplicas < want:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...",
			d.Name, st.UpdatedReplicas, want), false, nil
	case st.Replicas > st.UpdatedReplicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...",
			d.Name, st.Replicas-st.UpdatedReplicas), false, nil
	case st.AvailableReplicas < st.UpdatedReplicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...",
			d.Name, st.AvailableReplicas, st.UpdatedReplicas), false, nil
	}
	return fmt.Sprintf("deployment %q successfully rolled out", d.Name), true, nil
}
