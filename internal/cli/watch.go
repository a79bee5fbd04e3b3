package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// watchPrinter prints the objects of a watch: table rows that line up
// with the first table, names, or one YAML or JSON object per change.
type watchPrinter struct {
	kind   *v1.Kind
	out    io.Writer
	format string
	table  tableOptions
	tab    *table
	header bool
	count  int
}

func (p *watchPrinter) print(obj v1.Object) error {
	p.count++
	t := typedObject{kind: p.kind, obj: obj}
	switch p.format {
	case outputName, outputJSON:
		return printObject(p.out, p.format, t)
	case outputYAML:
		if p.count > 1 {
			fmt.Fprintln(p.out, "---")
		}
		return printObject(p.out, p.format, t)
	}
	pr := printerFor(p.kind)
	if !p.header && !p.table.noHeaders {
		p.tab.fit(pr.header(p.kind, p.table))
		p.tab.fit(pr.cells(p.kind, obj, p.table, time.Now()))
		p.tab.printRow(pr.header(p.kind, p.table))
	}
	p.header = true
	p.tab.printRow(pr.cells(p.kind, obj, p.table, time.Now()))
	return nil
}

// runWatch lists, prints, then prints every change until the context
// ends. A stream the server closes is reopened from the last revision
// seen, so no change is missed or printed twice.
func runWatch(ctx context.Context, g *globalOptions, c *client.Client, o *getOptions, r getRequest) error {
	if len(r.names) > 1 {
		return errors.New("--watch takes at most one name")
	}
	ns := g.Namespace()
	if o.allNamespaces && len(r.names) == 0 {
		ns = ""
	}
	opts := client.ListOptions{LabelSelector: o.selector, FieldSelector: o.fieldSelector}
	if len(r.names) == 1 {
		opts.FieldSelector = joinSelectors(opts.FieldSelector, "metadata.name="+r.names[0])
	}
	res := client.ForKind(c, r.kind, ns)
	l, err := res.ListAll(ctx, opts)
	if err != nil {
		return err
	}
	p := &watchPrinter{kind: r.kind, out: g.streams.Out, format: o.output, table: o.table(), tab: &table{w: g.streams.Out}}
	if len(l.Items) == 0 {
		fmt.Fprintln(g.streams.Err, noResources(g, o, []getRequest{r}))
	}
	if err := p.printInitial(l.Items); err != nil {
		return err
	}
	return follow(ctx, res, opts, l.ResourceVersion, p)
}

// printInitial prints the listed objects: one aligned table, or one
// object at a time.
func (p *watchPrinter) printInitial(items []v1.Object) error {
	if p.format != outputTable && p.format != outputWide {
		for _, obj := range items {
			if err := p.print(obj); err != nil {
				return err
			}
		}
		return nil
	}
	if len(items) == 0 {
		return nil
	}
	sortForTable(p.kind, items)
	rows := printerFor(p.kind).rows(p.kind, items, p.table, time.Now())
	p.tab.print(rows)
	p.header = true
	p.count = len(items)
	return nil
}

// relist prints every object as it is now and returns the list's revision.
func relist(ctx context.Context, res *client.Resource[v1.Object], opts client.ListOptions, p *watchPrinter) (string, error) {
	l, err := res.ListAll(ctx, client.ListOptions{LabelSelector: opts.LabelSelector, FieldSelector: opts.FieldSelector})
	if err != nil {
		return "", err
	}
	for _, obj := range l.Items {
		if err := p.print(obj); err != nil {
			return "", err
		}
	}
	return l.ResourceVersion, nil
}

// follow streams changes after rv to p.
func follow(ctx context.Context, res *client.Resource[v1.Object], opts client.ListOptions, rv string, p *watchPrinter) error {
	for {
		opts.ResourceVersion = rv
		w, err := res.Watch(ctx, opts)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for ev := range w.Events() {
			if ev.Type == client.Error {
				w.Stop()
				if ctx.Err() != nil {
					return nil
				}
				if !v1.IsGone(ev.Err) {
					return fmt.Errorf("watch: %w", ev.Err)
				}
				// The revision was compacted: list again, print the
				// current state, and watch from there.
				if rv, err = relist(ctx, res, opts, p); err != nil {
					return err
				}
				break
			}
			rv = ev.Object.GetObjectMeta().ResourceVersion
			if err := p.print(ev.Object); err != nil {
				w.Stop()
				return err
			}
		}
		w.Stop()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second): // the server closed the stream: reopen
		}
	}
}

func joinSelectors(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}
