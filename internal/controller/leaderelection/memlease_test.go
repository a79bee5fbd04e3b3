package leaderelection

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// memLeases is an in-memory LeaseClient with the API server's optimistic
// concurrency: every write gets a new resourceVersion from one counter, an
// Update whose resourceVersion is not the stored one fails with Conflict (an
// Update without one is Invalid: the elector must always send it), and a
// Create of an existing name fails with AlreadyExists. Objects are copied
// through JSON in and out, as over the wire.
type memLeases struct {
	clock clock.Clock // timestamps writes, for assertions

	mu        sync.Mutex
	rev       int64
	leases    map[string]*v1.Lease
	lastWrite time.Time
	conflicts int
	// hook, when set, is called once (then cleared) before a write is
	// applied, outside the lock, so a test can slip another write in.
	hook func(op string, l *v1.Lease)
}

var _ LeaseClient = (*memLeases)(nil)

func newMemLeases(clk clock.Clock) *memLeases {
	return &memLeases{clock: clk, leases: map[string]*v1.Lease{}}
}

func copyLease(l *v1.Lease) *v1.Lease {
	b, err := json.Marshal(l)
	if err != nil {
		panic(err) // a test bug: every Lease encodes
	}
	var out v1.Lease
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

func (m *memLeases) Get(_ context.Context, name string) (*v1.Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[name]
	if !ok {
		return nil, v1.NewError(v1.ReasonNotFound, "leases %q not found", name)
	}
	return copyLease(l), nil
}

func (m *memLeases) Create(_ context.Context, l *v1.Lease) (*v1.Lease, error) {
	m.runHook("create", l)
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.ResourceVersion != "" {
		return nil, v1.NewError(v1.ReasonInvalid, "metadata.resourceVersion: must not be set on create")
	}
	if _, ok := m.leases[l.Name]; ok {
		return nil, v1.NewError(v1.ReasonAlreadyExists, "leases %q already exists", l.Name)
	}
	return m.store(l), nil
}

func (m *memLeases) Update(_ context.Context, l *v1.Lease) (*v1.Lease, error) {
	m.runHook("update", l)
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.leases[l.Name]
	switch {
	case !ok:
		return nil, v1.NewError(v1.ReasonNotFound, "leases %q not found", l.Name)
	case l.ResourceVersion == "":
		return nil, v1.NewError(v1.ReasonInvalid, "metadata.resourceVersion: required on update")
	case l.ResourceVersion != cur.ResourceVersion:
		m.conflicts++
		return nil, v1.NewError(v1.ReasonConflict, "leases %q: the object has been modified", l.Name)
	}
	return m.store(l), nil
}

// store saves a copy of l under a new resourceVersion. m.mu is held.
func (m *memLeases) store(l *v1.Lease) *v1.Lease {
	m.rev++
	c := copyLease(l)
	c.ResourceVersion = strconv.FormatInt(m.rev, 10)
	m.leases[c.Name] = c
	m.lastWrite = m.clock.Now()
	return copyLease(c)
}

func (m *memLeases) runHook(op string, l *v1.Lease) {
	m.mu.Lock()
	h := m.hook
	m.hook = nil
	m.mu.Unlock()
	if h != nil {
		h(op, l)
	}
}

// touch rewrites the lease unchanged but for a label, as another client
// (kubectl label) would: a new resourceVersion, same holder.
func (m *memLeases) touch(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := copyLease(m.leases[name])
	c.Labels = map[string]string{"touched": strconv.FormatInt(m.rev, 10)}
	m.store(c)
}

// state is the stored holder and when the lease last changed.
func (m *memLeases) state(name string) (holder string, lastWrite time.Time, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.leases[name]
	if !ok {
		return "", time.Time{}, false
	}
	return holderOf(l), m.lastWrite, true
}

func (m *memLeases) conflictCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conflicts
}

// netClient is one candidate's connection to memLeases; down partitions it.
type netClient struct {
	leases *memLeases
	down   atomic.Bool
}

var _ LeaseClient = (*netClient)(nil)

func (c *netClient) unavailable() error {
	return v1.NewError(v1.ReasonUnavailable, "connection refused")
}

func (c *netClient) Get(ctx context.Context, name string) (*v1.Lease, error) {
	if c.down.Load() {
		return nil, c.unavailable()
	}
	return c.leases.Get(ctx, name)
}

func (c *netClient) Create(ctx context.Context, l *v1.Lease) (*v1.Lease, error) {
	if c.down.Load() {
		return nil, c.unavailable()
	}
	return c.leases.Create(ctx, l)
}

func (c *netClient) Update(ctx context.Context, l *v1.Lease) (*v1.Lease, error) {
	if c.down.Load() {
		return nil, c.unavailable()
	}
	return c.leases.Update(ctx, l)
}
