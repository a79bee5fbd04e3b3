package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/duration"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// columnGap separates columns, as kubectl's tab writer does.
const columnGap = 3

// none is what an empty cell shows.
const none = "<none>"

// table writes aligned columns. It remembers the widths of what it
// printed so that rows printed later (by a watch) line up with the header.
type table struct {
	w      io.Writer
	widths []int
}

// print writes rows, widening columns to fit all of them.
func (t *table) print(rows [][]string) {
	for _, r := range rows {
		t.fit(r)
	}
	for _, r := range rows {
		t.write(r)
	}
}

// printRow writes one more row, widening columns only where it must.
func (t *table) printRow(row []string) {
	t.fit(row)
	t.write(row)
}

func (t *table) fit(row []string) {
	for i, c := range row {
		n := utf8.RuneCountInString(c)
		if i >= len(t.widths) {
			t.widths = append(t.widths, n)
		} else if n > t.widths[i] {
			t.widths[i] = n
		}
	}
}

func (t *table) write(row []string) {
	var b strings.Builder
	for i, c := range row {
		b.WriteString(c)
		if i < len(row)-1 {
			b.WriteString(strings.Repeat(" ", t.widths[i]-utf8.RuneCountInString(c)+columnGap))
		}
	}
	b.WriteByte('\n')
	io.WriteString(t.w, b.String())
}

// age is how long ago t was, in kubectl's format (5s, 3m, 2d3h); "<unknown>"
// without a time.
func age(t *v1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "<unknown>"
	}
	return humanDuration(now.Sub(t.Time))
}

// humanDuration formats d as kubectl does.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return duration.HumanDuration(d)
}

// orNone is s, or "<none>" when s is empty.
func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// joinOrNone joins s with commas, or is "<none>".
func joinOrNone(s []string) string { return orNone(strings.Join(s, ",")) }

// labelString is k=v pairs sorted by key, or "<none>".
func labelString(m map[string]string) string {
	if len(m) == 0 {
		return none
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// itoa formats any integer.
func itoa[T ~int | ~int32 | ~int64](n T) string { return fmt.Sprint(int64(n)) }
