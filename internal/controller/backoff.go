package controller

import (
	"container/heap"
	"time"
)

// Default back-off of a failing key: 5ms, 10ms, 20ms, … up to 1000s.
const (
	DefaultBackoffBase = 5 * time.Millisecond
	DefaultBackoffMax  = 1000 * time.Second
)

// Backoff configures the per-key exponential back-off of AddRateLimited:
// the n-th consecutive failure of a key (from 0) waits Base·2ⁿ, at most Max.
type Backoff struct {
	// Base is the first delay; zero means DefaultBackoffBase.
	Base time.Duration
	// Max caps the delay; zero means DefaultBackoffMax.
	Max time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = DefaultBackoffBase
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	return b
}

// delay is the wait after n earlier failures. It doubles without
// overflowing: once the next doubling would pass Max, Max is the answer.
func (b Backoff) delay(n int) time.Duration {
	d := b.Base
	for range n {
		if d >= b.Max/2 {
			return b.Max
		}
		d *= 2
	}
	return min(d, b.Max)
}

// delayed is a min-heap of keys by due time, with at most one entry per key.
type delayed struct {
	entries []delayedEntry
	index   map[string]int // key → position in entries
}

type delayedEntry struct {
	key string
	at  time.Time
}

// push holds key back until at, or moves its deadline earlier if it is
// already held back until later.
func (d *delayed) push(key string, at time.Time) {
	if i, ok := d.index[key]; ok {
		if at.Before(d.entries[i].at) {
			d.entries[i].at = at
			heap.Fix(d, i)
		}
		return
	}
	heap.Push(d, delayedEntry{key: key, at: at})
}

// popDue removes and returns the keys due at or before now, earliest first.
func (d *delayed) popDue(now time.Time) []string {
	var due []string
	for len(d.entries) > 0 && !d.entries[0].at.After(now) {
		due = append(due, heap.Pop(d).(delayedEntry).key)
	}
	return due
}

// earliest is the next due time, if any key is held back.
func (d *delayed) earliest() (time.Time, bool) {
	if len(d.entries) == 0 {
		return time.Time{}, false
	}
	return d.entries[0].at, true
}

// heap.Interface; not for use outside the methods above.

func (d *delayed) Len() int           { return len(d.entries) }
func (d *delayed) Less(i, j int) bool { return d.entries[i].at.Before(d.entries[j].at) }

func (d *delayed) Swap(i, j int) {
	d.entries[i], d.entries[j] = d.entries[j], d.entries[i]
	d.index[d.entries[i].key] = i
	d.index[d.entries[j].key] = j
}

func (d *delayed) Push(x any) {
	e := x.(delayedEntry)
	d.index[e.key] = len(d.entries)
	d.entries = append(d.entries, e)
}

func (d *delayed) Pop() any {
	last := len(d.entries) - 1
	e := d.entries[last]
	d.entries = d.entries[:last]
	delete(d.index, e.key)
	return e
}
