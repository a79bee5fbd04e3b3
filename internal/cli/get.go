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

type getOptions struct {
	allNamespaces bool
	selector      string
	fieldSelector string
	output        string
	watch         bool
	showLabels    bool
	noHeaders     bool
}

func (o *getOptions) table() tableOptions {
	return tableOptions{wide: o.output == outputWide, allNamespaces: o.allNamespaces, showLabels: o.showLabels, noHeaders: o.noHeaders}
}

func newGetCommand(g *globalOptions) *cobra.Command {
	o := &getOptions{}
	cmd := &cobra.Command{
		Use:   "get KIND [NAME...] | KIND/NAME...",
		Short: "List objects, or show some by name",
		Long: `List the objects of a kind, or show the named ones, as a table or as YAML,
JSON or names. KIND is any name of a kind: plural, singular, short name or kind
(pods, pod, po, Pod; petsets, ps, sts, statefulsets; svc, pvc, pv, sc, no, ns,
ev, ep, deploy, cm). Several kinds may be given separated by commas.

With -o yaml or -o json one named object prints as itself; a list, or several
names, prints as one List. With -w the command keeps printing changes.`,
		Example: `  # Pods of the current namespace, and of all namespaces
  kennel get pods
  kennel get po -A

  # One PetSet as YAML
  kennel get petset db -o yaml

  # Pods of the "db" app with their labels, with IPs and nodes
  kennel get pods -l app=db --show-labels -o wide

  # Watch the pets of a set come up in order
  kennel get pods -l app=db -w`,
		Args:              needKind(g, "get"),
		ValidArgsFunction: completeKindsAndNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGet(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list the objects of every namespace")
	f.StringVarP(&o.selector, "selector", "l", "", "label selector (app=db,tier!=cache, env in (a,b))")
	f.StringVar(&o.fieldSelector, "field-selector", "", "field selector (metadata.name=x, spec.nodeName=n1, status.phase=Running)")
	f.StringVarP(&o.output, "output", "o", "", "output format: wide, yaml, json or name")
	f.BoolVarP(&o.watch, "watch", "w", false, "after listing, keep printing changes")
	f.BoolVar(&o.showLabels, "show-labels", false, "add a LABELS column")
	f.BoolVar(&o.noHeaders, "no-headers", false, "do not print table headers")
	return cmd
}

// getRequest is one kind and the names asked for; no names lists.
type getRequest struct {
	kind  *v1.Kind
	names []string
}

// parseGetArgs accepts "KIND[,KIND] [NAME...]" and "KIND/NAME...".
func parseGetArgs(g *globalOptions, args []string) ([]getRequest, error) {
	var reqs []getRequest
	if strings.Contains(args[0], "/") {
		for _, a := range args {
			kindName, name, ok := strings.Cut(a, "/")
			if !ok || name == "" {
				return nil, fmt.Errorf("%q: mix of KIND/NAME and KIND NAME arguments: give every object as KIND/NAME", a)
			}
			k, err := g.lookupKind(kindName)
			if err != nil {
				return nil, err
			}
			if n := len(reqs); n > 0 && reqs[n-1].kind == k {
				reqs[n-1].names = append(reqs[n-1].names, name)
			} else {
				reqs = append(reqs, getRequest{kind: k, names: []string{name}})
			}
		}
		return reqs, nil
	}
	kinds := strings.Split(args[0], ",")
	if len(kinds) > 1 && len(args) > 1 {
		return nil, errors.New("names can be given with one kind only: use KIND/NAME for several kinds")
	}
	for _, kn := range kinds {
		k, err := g.lookupKind(kn)
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, getRequest{kind: k, names: args[1:]})
	}
	return reqs, nil
}

func runGet(ctx context.Context, g *globalOptions, o *getOptions, args []string) error {
	if err := checkOutput(o.output); err != nil {
		return err
	}
	reqs, err := parseGetArgs(g, args)
	if err != nil {
		return err
	}
	c, err := g.Client()
	if err != nil {
		return err
	}
	if o.watch {
		if len(reqs) != 1 {
			return errors.New("--watch takes one kind")
		}
		return runWatch(ctx, g, c, o, reqs[0])
	}
	results := make([][]typedObject, len(reqs))
	var errs []error
	for i, r := range reqs {
		results[i], err = fetch(ctx, g, c, o, r)
		if err != nil {
			errs = append(errs, err)
		}
	}
	single := len(reqs) == 1 && len(reqs[0].names) == 1
	if err := printGet(g, o, reqs, results, single, len(errs) > 0); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// fetch lists a kind, or gets each named object; a missing name is an
// error but does not stop the others.
func fetch(ctx context.Context, g *globalOptions, c *client.Client, o *getOptions, r getRequest) ([]typedObject, error) {
	ns := g.Namespace()
	if len(r.names) == 0 {
		if o.allNamespaces {
			ns = ""
		}
		l, err := client.ForKind(c, r.kind, ns).ListAll(ctx, client.ListOptions{LabelSelector: o.selector, FieldSelector: o.fieldSelector})
		if err != nil {
			return nil, err
		}
		out := make([]typedObject, len(l.Items))
		for i, obj := range l.Items {
			out[i] = typedObject{kind: r.kind, obj: obj}
		}
		return out, nil
	}
	res := client.ForKind(c, r.kind, ns)
	var out []typedObject
	var errs []error
	for _, name := range r.names {
		obj, err := res.Get(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, typedObject{kind: r.kind, obj: obj})
	}
	return out, errors.Join(errs...)
}

// printGet prints what get found: tables (one per kind), names, or YAML
// or JSON (the object itself when exactly one was named, else a List).
// After a failure (failed) an empty result is not reported as empty.
func printGet(g *globalOptions, o *getOptions, reqs []getRequest, results [][]typedObject, single, failed bool) error {
	out := g.streams.Out
	var all []typedObject
	for _, r := range results {
		all = append(all, r...)
	}
	switch o.output {
	case outputYAML, outputJSON:
		if single && len(all) == 1 {
			return printObject(out, o.output, all[0])
		}
		if len(all) == 0 && (failed || hasNames(reqs)) {
			return nil // only the errors
		}
		return printList(out, o.output, all)
	}
	if len(all) == 0 {
		if !failed && !hasNames(reqs) {
			fmt.Fprintln(g.streams.Err, noResources(g, o, reqs))
		}
		return nil
	}
	if o.output == outputName {
		return printList(out, outputName, all)
	}
	now := time.Now()
	printed := false
	for i, r := range reqs {
		if len(results[i]) == 0 {
			continue
		}
		if printed {
			fmt.Fprintln(out)
		}
		objs := make([]v1.Object, len(results[i]))
		for j, t := range results[i] {
			objs[j] = t.obj
		}
		sortForTable(r.kind, objs)
		p := printerFor(r.kind)
		(&table{w: out}).print(p.rows(r.kind, objs, o.table(), now))
		printed = true
	}
	return nil
}

func hasNames(reqs []getRequest) bool {
	for _, r := range reqs {
		if len(r.names) > 0 {
			return true
		}
	}
	return false
}

// noResources is kubectl's message for an empty list.
func noResources(g *globalOptions, o *getOptions, reqs []getRequest) string {
	namespaced := false
	for _, r := range reqs {
		namespaced = namespaced || r.kind.Namespaced
	}
	if o.allNamespaces || !namespaced {
		return "No resources found"
	}
	return fmt.Sprintf("No resources found in %s namespace.", g.Namespace())
}

// needKind requires a KIND argument, and lists the kinds when it is
// missing.
func needKind(g *globalOptions, verb string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return nil
		}
		var kinds []string
		for _, k := range g.registry().All() {
			kinds = append(kinds, k.Resource)
		}
		return fmt.Errorf("say what kind of object to %s, e.g. \"kennel %s pods\"; the kinds are: %s",
			verb, verb, strings.Join(kinds, ", "))
	}
}
