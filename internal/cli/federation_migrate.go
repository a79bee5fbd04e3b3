package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

type migrateOptions struct {
	pet     string
	to      string
	all     bool
	timeout time.Duration
	poll    time.Duration
}

func newFederationMigrateCommand(g *globalOptions) *cobra.Command {
	o := &migrateOptions{poll: 500 * time.Millisecond}
	cmd := &cobra.Command{
		Use:   "migrate petset/NAME (--pet NAME-N | --all) --to CLUSTER",
		Short: "Move a pet, with the data of its volumes, to another member cluster",
		Long: `Move one pet of a federated PetSet (divided among members by its Placement)
to another member cluster, with its data: the pet is stopped in its member,
each of its local volumes is copied from the agent that holds it to the agent
of the node it lands on in the target (over TLS, checksummed, resumed where it
stopped if interrupted), and the pet starts there with the same name, identity
and DNS names. Its old claims in the source are deleted once it runs Ready.

The command creates a Migration on the federation (kennel get migrations) and
shows its progress until it ends; interrupted, run it again to follow the same
Migration. --all moves every pet of the set that is not in CLUSTER yet, one at
a time, highest ordinal first.

A member runs one contiguous range of a PetSet's ordinals, so a pet can move
only from an edge of its member's range to a cluster whose range it adjoins or
that has none of the set; the federation says so when it cannot.`,
		Example: `  # move db-2 to cluster eu-2
  kennel --context fed federation migrate petset/db --pet db-2 --to eu-2

  # move the whole set to eu-2, one pet at a time
  kennel --context fed federation migrate petset/db --all --to eu-2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFederationMigrate(cmd.Context(), g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.pet, "pet", "", "the pet to move (NAME-N)")
	f.StringVar(&o.to, "to", "", "the member cluster to move it to (required)")
	f.BoolVar(&o.all, "all", false, "move every pet not in --to yet, highest ordinal first")
	f.DurationVar(&o.timeout, "timeout", time.Hour, "give up waiting after this long (the Migration goes on)")
	return cmd
}

func runFederationMigrate(ctx context.Context, g *globalOptions, o *migrateOptions, arg string) error {
	kind, name, ok := strings.Cut(arg, "/")
	if !ok || name == "" {
		return fmt.Errorf("federation migrate: %q: want petset/NAME", arg)
	}
	if k, err := g.lookupKind(kind); err != nil || k.Kind != "PetSet" {
		return fmt.Errorf("federation migrate: %q: only a PetSet's pets migrate", arg)
	}
	switch {
	case o.to == "":
		return errors.New("federation migrate: --to: required (the member cluster to move to)")
	case o.all == (o.pet != ""):
		return errors.New("federation migrate: give either --pet NAME-N or --all")
	}
	c, err := g.Client()
	if err != nil {
		return err
	}
	if _, err := client.For[*v1.ConfigMap](c, v1.NamespaceSystem).Get(ctx, v1.FederationInfoConfigMap); v1.IsNotFound(err) {
		return fmt.Errorf("federation migrate: %s is not a federation (use --context with the federation's context)", c.Server())
	}
	ns := g.Namespace()
	set, err := client.For[*v1.PetSet](c, ns).Get(ctx, name)
	if err != nil {
		return fmt.Errorf("federation migrate: petset %s/%s: %w", ns, name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if !o.all {
		ord, err := petOrdinal(name, o.pet)
		if err != nil {
			return err
		}
		return migrateOne(ctx, g, c, ns, name, ord, o)
	}
	moved := map[int32]bool{}
	for {
		ord, left, err := nextToMove(ctx, c, set, o.to)
		if err != nil {
			return err
		}
		if left == 0 {
			fmt.Fprintf(g.streams.Out, "every pet of petset %s runs in %s\n", name, o.to)
			return nil
		}
		if moved[ord] {
			// The Placement's status does not show the last move yet.
			select {
			case <-ctx.Done():
				return fmt.Errorf("federation migrate: the Placement of petset %s does not show %s-%d in %s after --timeout %v", name, name, ord, o.to, o.timeout)
			case <-time.After(o.poll):
			}
			continue
		}
		moved[ord] = true
		fmt.Fprintf(g.streams.Out, "%d pet(s) to move; next %s-%d\n", left, name, ord)
		if err := migrateOne(ctx, g, c, ns, name, ord, o); err != nil {
			return err
		}
	}
}

// petOrdinal reads N of NAME-N.
func petOrdinal(set, pet string) (int32, error) {
	rest, ok := strings.CutPrefix(pet, set+"-")
	n, err := strconv.ParseInt(rest, 10, 32)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("federation migrate: --pet %q: want %s-N, a pet of petset %s", pet, set, set)
	}
	return int32(n), nil
}

// nextToMove is the highest ordinal not in cluster to, from what the
// PetSet's Placement reports, and how many are left.
func nextToMove(ctx context.Context, c *client.Client, set *v1.PetSet, to string) (int32, int, error) {
	pls, err := client.For[*v1.Placement](c, set.Namespace).ListAll(ctx, client.ListOptions{})
	if err != nil {
		return 0, 0, err
	}
	for _, pl := range pls.Items {
		for _, r := range pl.Status.Resources {
			if r.Kind != "PetSet" || r.Name != set.Name {
				continue
			}
			var out []int32
			for _, sh := range r.Clusters {
				if sh.Name == to || sh.OrdinalStart == nil || sh.Replicas == nil {
					continue
				}
				for i := range *sh.Replicas {
					out = append(out, *sh.OrdinalStart+i)
				}
			}
			if len(out) == 0 {
				return 0, 0, nil
			}
			return slices.Max(out), len(out), nil
		}
	}
	return 0, 0, fmt.Errorf("federation migrate: petset %s/%s is not placed by any Placement", set.Namespace, set.Name)
}

// migrateOne creates (or finds) the Migration of one pet and follows it
// to its end.
func migrateOne(ctx context.Context, g *globalOptions, c *client.Client, ns, set string, ord int32, o *migrateOptions) error {
	migs := client.For[*v1.Migration](c, ns)
	name := fmt.Sprintf("%s-%d-to-%s", set, ord, o.to)
	began := time.Now()
	m, err := migs.Get(ctx, name)
	created := false
	switch {
	case v1.IsNotFound(err):
		m, err = migs.Create(ctx, &v1.Migration{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1.MigrationSpec{PetSet: set, Ordinal: ord, To: o.to}})
		if err != nil {
			return fmt.Errorf("federation migrate: create migration %s: %w", name, err)
		}
		created = true
		fmt.Fprintf(g.streams.Out, "migration %s/%s created: %s-%d to %s\n", ns, name, set, ord, o.to)
	case err != nil:
		return fmt.Errorf("federation migrate: migration %s: %w", name, err)
	default:
		fmt.Fprintf(g.streams.Out, "following migration %s/%s (%s)\n", ns, name, orDash(string(m.Status.Phase)))
	}
	bar := newProgressBar(g.streams.Out)
	for {
		bar.show(m)
		switch m.Status.Phase {
		case v1.MigrationSucceeded:
			bar.done()
			took := ""
			switch {
			case created:
				took = " in " + time.Since(began).Round(100*time.Millisecond).String()
			case m.Status.StartTime != nil && m.Status.CompletionTime != nil:
				took = " in " + m.Status.CompletionTime.Sub(m.Status.StartTime.Time).String()
			}
			fmt.Fprintf(g.streams.Out, "%s%s\n", m.Status.Message, took)
			return nil
		case v1.MigrationFailed:
			bar.done()
			return fmt.Errorf("federation migrate: migration %s failed: %s (delete it with: kennel delete migration %s -n %s)", name, m.Status.Message, name, ns)
		}
		select {
		case <-ctx.Done():
			bar.done()
			return fmt.Errorf("federation migrate: migration %s is %s after --timeout %v; it goes on: run the command again to follow it", name, m.Status.Phase, o.timeout)
		case <-time.After(o.poll):
		}
		if m, err = migs.Get(ctx, name); err != nil {
			if ctx.Err() != nil {
				continue
			}
			return fmt.Errorf("federation migrate: migration %s: %w", name, err)
		}
	}
}

// progressBar draws a Migration's progress: a bar redrawn in place on a
// terminal, one line per phase or tenth of the copy otherwise.
type progressBar struct {
	w           io.Writer
	tty         bool
	last        string
	lastTenth   int64
	drawn       bool
	start       time.Time
	startBytes  int64
	startedCopy bool
}

func newProgressBar(w io.Writer) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		tty = err == nil
	}
	return &progressBar{w: w, tty: tty, lastTenth: -1}
}

func (b *progressBar) show(m *v1.Migration) {
	st := m.Status
	phase := orDash(string(st.Phase))
	if st.Phase == v1.MigrationCopying && !b.startedCopy {
		b.startedCopy, b.start, b.startBytes = true, time.Now(), st.BytesDone
	}
	msg := st.Message
	if msg == "" {
		msg = "waiting for the federation's migration controller"
	}
	line := fmt.Sprintf("%-10s %s", phase, msg)
	if st.BytesTotal > 0 {
		frac := float64(st.BytesDone) / float64(st.BytesTotal)
		const width = 30
		n := int(frac * width)
		rate := ""
		if secs := time.Since(b.start).Seconds(); b.startedCopy && secs > 0.5 {
			rate = fmt.Sprintf("  %s/s", humanBytes(int64(float64(st.BytesDone-b.startBytes)/secs)))
		}
		line = fmt.Sprintf("%-10s [%s%s] %3.0f%%  %s / %s%s", phase, strings.Repeat("#", n), strings.Repeat("-", width-n),
			100*frac, humanBytes(st.BytesDone), humanBytes(st.BytesTotal), rate)
	}
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		b.drawn = true
		return
	}
	tenth := int64(-1)
	if st.BytesTotal > 0 {
		tenth = 10 * st.BytesDone / st.BytesTotal
	}
	if phase+st.Message != b.last || tenth != b.lastTenth {
		fmt.Fprintln(b.w, line)
		b.last, b.lastTenth = phase+st.Message, tenth
	}
}

func (b *progressBar) done() {
	if b.tty && b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}

// humanBytes prints n bytes in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func orDash(s string) string {
	if s == "" {
		return "Pending"
	}
	return s
}
