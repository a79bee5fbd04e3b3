package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

type deleteOptions struct {
	files          []string
	recursive      bool
	selector       string
	wait           bool
	cascade        string
	gracePeriod    int64
	force          bool
	ignoreNotFound bool
	timeout        time.Duration
}

func newDeleteCommand(g *globalOptions) *cobra.Command {
	o := &deleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete KIND NAME... | KIND/NAME... | KIND -l SELECTOR | -f FILE",
		Short: "Delete objects by name, by label selector, or as listed in manifests",
		Long: `Delete objects. By default the command waits until each object is gone:
finalizers may hold an object (a PetSet waits for its pets to stop, a
namespace for its objects), and a pod on a node takes its grace period to stop.

--cascade says what happens to the objects the deleted one owns: "background"
(the default) deletes them after it, "foreground" before it, "orphan" keeps
them.

--grace-period 0 removes a pod on a node from the API at once, before its
node has stopped it: its controller may start a replacement while it still
runs — for a pet, two copies of one identity. It needs --force (which alone
means --grace-period 0). Use it only for a pod whose node is known dead.`,
		Example: `  # Delete a pet; the PetSet controller recreates it
  kennel delete pod db-1

  # Delete a PetSet and wait until its pets are gone first
  kennel delete petset db --cascade=foreground

  # Delete what a manifest created, ignoring what is already gone
  kennel delete -f db.yaml --ignore-not-found

  # Delete by label without waiting
  kennel delete pods -l app=cache --wait=false

  # Remove a pet whose node is dead (powered off), without waiting for it
  kennel delete pod db-1 --force`,
		ValidArgsFunction: completeKindsAndNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDelete(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil, "manifest file, directory, or - whose objects to delete (repeatable)")
	f.BoolVarP(&o.recursive, "recursive", "R", false, "descend into subdirectories of directories given with -f")
	f.StringVarP(&o.selector, "selector", "l", "", "delete the objects of KIND that match this label selector")
	f.BoolVar(&o.wait, "wait", true, "wait until the objects are gone")
	f.StringVar(&o.cascade, "cascade", "background", "dependents: background, foreground or orphan")
	f.Int64Var(&o.gracePeriod, "grace-period", -1, "seconds a pod is given to stop (-1: the pod's own; 0 needs --force)")
	f.BoolVar(&o.force, "force", false, "remove pods at once, without waiting for their node to stop them (--grace-period 0)")
	f.BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "do not fail when an object does not exist")
	f.DurationVar(&o.timeout, "timeout", 60*time.Second, "how long --wait waits")
	return cmd
}

// target is one object to delete.
type target struct {
	kind *v1.Kind
	ns   string
	name string
	word string // kind as messages print it
	uid  string // of the deleted object, to tell it from a new namesake
}

func (t target) ref() string { return t.word + "/" + t.name }

func runDelete(ctx context.Context, g *globalOptions, o *deleteOptions, args []string) error {
	opts, err := o.deleteOptions()
	if err != nil {
		return err
	}
	c, err := g.Client()
	if err != nil {
		return err
	}
	targets, err := deleteTargets(ctx, g, c, o, args)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		fmt.Fprintln(g.streams.Err, "No resources found")
		return nil
	}
	var deleted []target
	var errs []error
	for _, t := range targets {
		obj, err := client.ForKind(c, t.kind, t.ns).Delete(ctx, t.name, opts)
		if v1.IsNotFound(err) && o.ignoreNotFound {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.uid = obj.GetObjectMeta().UID
		fmt.Fprintf(g.streams.Out, "%s deleted\n", t.ref())
		deleted = append(deleted, t)
	}
	if o.wait && len(deleted) > 0 {
		if err := waitDeleted(ctx, g, c, deleted, o.timeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (o *deleteOptions) deleteOptions() (client.DeleteOptions, error) {
	var opts client.DeleteOptions
	switch strings.ToLower(o.cascade) {
	case "background", "true":
		opts.PropagationPolicy = "Background"
	case "foreground":
		opts.PropagationPolicy = "Foreground"
	case "orphan", "false":
		opts.PropagationPolicy = "Orphan"
	default:
		return opts, fmt.Errorf("--cascade %q: use background, foreground or orphan", o.cascade)
	}
	switch {
	case o.force && o.gracePeriod > 0:
		return opts, fmt.Errorf("--force removes pods at once: it cannot be given with --grace-period %d", o.gracePeriod)
	case o.force:
		o.gracePeriod = 0
	case o.gracePeriod == 0:
		return opts, errors.New("--grace-period 0 removes a pod from the API before its node has stopped it " +
			"(a pet's replacement may then run beside it): add --force if its node is known dead")
	}
	if o.gracePeriod >= 0 {
		opts.GracePeriodSeconds = &o.gracePeriod
	}
	return opts, nil
}

// deleteTargets resolves what to delete from -f, KIND -l, or the names.
func deleteTargets(ctx context.Context, g *globalOptions, c *client.Client, o *deleteOptions, args []string) ([]target, error) {
	if len(o.files) > 0 {
		if len(args) > 0 {
			return nil, errors.New("give either -f or KIND NAME, not both")
		}
		ms, err := readManifests(g, o.files, o.recursive)
		if err != nil {
			return nil, err
		}
		out := make([]target, len(ms))
		for i, m := range ms {
			out[i] = target{kind: m.kind, ns: namespaceFor(m, g.Namespace()), name: m.obj.GetObjectMeta().Name, word: m.word}
		}
		return out, nil
	}
	if len(args) == 0 {
		return nil, errors.New("nothing to delete: give KIND NAME, KIND/NAME, KIND -l SELECTOR or -f FILE")
	}
	reqs, err := parseGetArgs(g, args)
	if err != nil {
		return nil, err
	}
	var out []target
	for _, r := range reqs {
		ts, err := requestTargets(ctx, g, c, o, r)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	return out, nil
}

func requestTargets(ctx context.Context, g *globalOptions, c *client.Client, o *deleteOptions, r getRequest) ([]target, error) {
	ns := ""
	if r.kind.Namespaced {
		ns = g.Namespace()
	}
	word := strings.ToLower(r.kind.Kind)
	names := r.names
	switch {
	case len(names) > 0 && o.selector != "":
		return nil, errors.New("give either names or -l, not both")
	case len(names) == 0 && o.selector == "":
		return nil, fmt.Errorf("which %s? give names or -l SELECTOR", r.kind.Resource)
	case len(names) == 0:
		l, err := client.ForKind(c, r.kind, ns).ListAll(ctx, client.ListOptions{LabelSelector: o.selector})
		if err != nil {
			return nil, err
		}
		for _, obj := range l.Items {
			names = append(names, obj.GetObjectMeta().Name)
		}
	}
	out := make([]target, len(names))
	for i, n := range names {
		out[i] = target{kind: r.kind, ns: ns, name: n, word: word}
	}
	return out, nil
}
