package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

type scaleOptions struct {
	replicas int32
}

func newScaleCommand(g *globalOptions) *cobra.Command {
	o := &scaleOptions{}
	cmd := &cobra.Command{
		Use:   "scale (petset|statefulset|deployment) NAME --replicas N",
		Short: "Set the number of replicas of a PetSet or a Deployment",
		Long: `Set spec.replicas of a PetSet (or StatefulSet) or a Deployment. The command
returns once the change is stored; the controller then converges.

A PetSet with podManagementPolicy OrderedReady (the default) adds pets in
increasing ordinal order, each once the previous ones are Running and Ready,
and removes them from the highest ordinal down; "kennel rollout status"
waits until that is done. Claims of removed pets are kept unless
persistentVolumeClaimRetentionPolicy.whenScaled is Delete.`,
		Example: `  # Grow the PetSet db to 5 pets (db-3 and db-4 are added, in order)
  kennel scale petset db --replicas 5

  # The same, naming the object as kind/name
  kennel scale sts/db --replicas 5

  # Stop every pod of a Deployment
  kennel scale deployment web --replicas 0`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeKindsAndNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("replicas") {
				return fmt.Errorf("scale: --replicas is required")
			}
			return runScale(cmd.Context(), g, o, args)
		},
	}
	cmd.Flags().Int32Var(&o.replicas, "replicas", 0, "the new number of replicas (required)")
	return cmd
}

// workload is one PetSet or Deployment as a command names it.
type workload struct {
	kind *v1.Kind
	// word is the kind as the user wrote it, for messages: "statefulset"
	// for sts and statefulsets, else the kind's singular name.
	word string
	name string
	ns   string
}

// ref is how messages name the object: petset.apps/db.
func (w workload) ref() string { return w.word + ".apps/" + w.name }

// parseWorkload accepts "KIND NAME" and "KIND/NAME" for the kinds named
// by resources (petsets, deployments).
func parseWorkload(g *globalOptions, verb string, args []string, resources ...string) (workload, error) {
	typed, name := args[0], ""
	if k, n, ok := strings.Cut(args[0], "/"); ok {
		if len(args) > 1 {
			return workload{}, fmt.Errorf("%s: give the object as KIND/NAME or KIND NAME, not both", verb)
		}
		typed, name = k, n
	} else if len(args) > 1 {
		name = args[1]
	}
	if name == "" {
		return workload{}, fmt.Errorf("%s: name the object: KIND NAME or KIND/NAME", verb)
	}
	k, err := g.lookupKind(typed)
	if err != nil {
		return workload{}, fmt.Errorf("%s: %w", verb, err)
	}
	ok := false
	for _, r := range resources {
		ok = ok || k.Resource == r
	}
	if !ok {
		return workload{}, fmt.Errorf("%s: %s %q: only %s are supported", verb, k.Resource, name, strings.Join(resources, " and "))
	}
	word := k.Singular
	switch strings.ToLower(typed) {
	case "statefulset", "statefulsets", "sts":
		word = "statefulset"
	}
	return workload{kind: k, word: word, name: name, ns: g.Namespace()}, nil
}

func runScale(ctx context.Context, g *globalOptions, o *scaleOptions, args []string) error {
	if o.replicas < 0 {
		return fmt.Errorf("scale: --replicas %d: must be 0 or more", o.replicas)
	}
	w, err := parseWorkload(g, "scale", args, "petsets", "deployments")
	if err != nil {
		return err
	}
	c, err := g.Client()
	if err != nil {
		return err
	}
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, o.replicas)
	if _, err := client.ForKind(c, w.kind, w.ns).Patch(ctx, w.name, patch); err != nil {
		return fmt.Errorf("scale %s in namespace %s: %w", w.ref(), w.ns, err)
	}
	fmt.Fprintf(g.streams.Out, "%s scaled\n", w.ref())
	return nil
}
