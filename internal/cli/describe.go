package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

func newDescribeCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "describe KIND NAME | KIND/NAME",
		Short: "Show one object in detail, with its events",
		Long: `Show one object in a readable form: its metadata (labels, annotations, owner,
finalizers, deletion), what matters for its kind (for a pod its node, IP,
conditions, containers and volumes; for a PetSet its replicas, revisions and
update strategy; for a node its capacity and conditions; for other kinds the
spec and status), and the events that concern it, oldest first.`,
		Example: `  # Why is this pet not running?
  kennel describe pod db-1

  # A PetSet, by its short name
  kennel describe sts/db -n prod`,
		Args:              cobra.MatchAll(needKind(g, "describe"), cobra.MaximumNArgs(2)),
		ValidArgsFunction: completeKindsAndNames(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDescribe(cmd.Context(), g, args)
		},
	}
}

func runDescribe(ctx context.Context, g *globalOptions, args []string) error {
	kindName, name := args[0], ""
	if len(args) == 2 {
		name = args[1]
	} else if k, n, ok := strings.Cut(args[0], "/"); ok {
		kindName, name = k, n
	}
	if name == "" {
		return fmt.Errorf("describe needs a name: kennel describe %s NAME", kindName)
	}
	k, err := g.lookupKind(kindName)
	if err != nil {
		return err
	}
	c, err := g.Client()
	if err != nil {
		return err
	}
	ns := ""
	if k.Namespaced {
		ns = g.Namespace()
	}
	obj, err := client.ForKind(c, k, ns).Get(ctx, name)
	if err != nil {
		return err
	}
	now := time.Now()
	d := &descWriter{w: g.streams.Out}
	describeMeta(d, k, obj.GetObjectMeta(), now)
	if f, ok := describers()[k.Resource]; ok {
		f(d, obj, now)
	} else {
		describeFields(d, obj)
	}
	evs, err := eventsFor(ctx, c, g.registry(), k, obj.GetObjectMeta())
	describeEvents(d, evs, err, now)
	return nil
}

// descWriter writes "Label:  value" lines with the values aligned.
type descWriter struct {
	w io.Writer
}

// labelWidth is where values start, counted from the line's indent.
const labelWidth = 20

// field writes one label and value at an indent level (two spaces each).
func (d *descWriter) field(level int, label, value string) {
	pad := max(labelWidth-len(label)-1, 1)
	fmt.Fprintf(d.w, "%s%s:%s%s\n", strings.Repeat("  ", level), label, strings.Repeat(" ", pad), value)
}

// line writes text at an indent level.
func (d *descWriter) line(level int, format string, args ...any) {
	fmt.Fprintf(d.w, "%s%s\n", strings.Repeat("  ", level), fmt.Sprintf(format, args...))
}

// multi writes a label whose values take one line each.
func (d *descWriter) multi(level int, label string, values []string) {
	if len(values) == 0 {
		d.field(level, label, none)
		return
	}
	d.field(level, label, values[0])
	indent := strings.Repeat("  ", level) + strings.Repeat(" ", labelWidth)
	for _, v := range values[1:] {
		fmt.Fprintf(d.w, "%s%s\n", indent, v)
	}
}

// table writes rows under a level, with a dashed line under the header.
func (d *descWriter) table(level int, header []string, rows [][]string) {
	dashes := make([]string, len(header))
	for i, h := range header {
		dashes[i] = strings.Repeat("-", len(h))
	}
	all := append([][]string{header, dashes}, rows...)
	prefix := strings.Repeat("  ", level)
	t := &table{w: &prefixWriter{w: d.w, prefix: prefix}}
	t.print(all)
}

// prefixWriter indents every write, which the table makes one per line.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.prefix); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

func sortedPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// describeMeta writes what every object has.
func describeMeta(d *descWriter, k *v1.Kind, m *v1.ObjectMeta, now time.Time) {
	d.field(0, "Name", m.Name)
	if k.Namespaced {
		d.field(0, "Namespace", m.Namespace)
	}
	d.multi(0, "Labels", sortedPairs(m.Labels))
	d.multi(0, "Annotations", sortedPairs(m.Annotations))
	d.field(0, "Created", timeAndAge(m.CreationTimestamp, now))
	d.field(0, "UID", m.UID)
	var owners []string
	for _, o := range m.OwnerReferences {
		s := o.Kind + "/" + o.Name
		if o.Controller != nil && *o.Controller {
			s += " (controller)"
		}
		owners = append(owners, s)
	}
	d.multi(0, "Owner", owners)
	d.field(0, "Finalizers", orNone(strings.Join(m.Finalizers, ", ")))
	if m.DeletionTimestamp != nil {
		s := "requested " + timeAndAge(m.DeletionTimestamp, now)
		if m.DeletionGracePeriodSeconds != nil {
			s += fmt.Sprintf(", grace period %ds", *m.DeletionGracePeriodSeconds)
		}
		d.field(0, "Deletion", s)
	}
}

// timeAndAge is "2024-05-01T10:00:00Z (5m ago)".
func timeAndAge(t *v1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339) + " (" + age(t, now) + " ago)"
}

// eventsFor lists the events about one object: in its namespace, or in
// every namespace for a cluster-scoped object.
func eventsFor(ctx context.Context, c *client.Client, reg *v1.Registry, k *v1.Kind, m *v1.ObjectMeta) ([]*v1.Event, error) {
	l, err := client.For[*v1.Event](c, m.Namespace).ListAll(ctx, client.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*v1.Event
	for _, e := range l.Items {
		if eventConcerns(reg, e, k, m) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return eventLastSeen(out[i]).Before(eventLastSeen(out[j])) })
	return out, nil
}

// eventConcerns matches an event's involvedObject against an object: by
// kind (an alias counts), name, namespace and, when the event has one,
// uid (so events of a deleted namesake are left out). Events about a
// cluster-scoped object may be kept in any namespace.
func eventConcerns(reg *v1.Registry, e *v1.Event, k *v1.Kind, m *v1.ObjectMeta) bool {
	ref := e.InvolvedObject
	if ek, ok := reg.ByKind(ref.Kind); !ok || ek != k {
		if !strings.EqualFold(ref.Kind, k.Kind) {
			return false
		}
	}
	if ref.Name != m.Name || (k.Namespaced && ref.Namespace != "" && ref.Namespace != m.Namespace) {
		return false
	}
	return ref.UID == "" || ref.UID == m.UID
}

func describeEvents(d *descWriter, evs []*v1.Event, err error, now time.Time) {
	switch {
	case err != nil:
		d.field(0, "Events", "<cannot list events: "+err.Error()+">")
		return
	case len(evs) == 0:
		d.field(0, "Events", none)
		return
	}
	d.line(0, "Events:")
	rows := make([][]string, 0, len(evs))
	for _, e := range evs {
		a := humanDuration(now.Sub(eventLastSeen(e)))
		if e.Count > 1 && e.FirstTimestamp != nil {
			a += fmt.Sprintf(" (x%d over %s)", e.Count, age(e.FirstTimestamp, now))
		}
		rows = append(rows, []string{e.Type, e.Reason, a, eventSource(e), e.Message})
	}
	d.table(1, []string{"Type", "Reason", "Age", "From", "Message"}, rows)
}
