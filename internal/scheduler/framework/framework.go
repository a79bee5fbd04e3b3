// Package framework is the scheduler's plugin framework: the per-pod
// CycleState, the NodeInfo view of a node and the pods on it, the Status a
// plugin answers with, the small interfaces plugins implement, and the
// Profile that chains them into the pipeline
//
//	PreFilter → Filter (per node) → Score (per feasible node) → select
//	  → (the scheduler assumes the pod) → PreBind → (the scheduler binds)
//
// described in ../README.md. It knows no plugin and no API server: plugins
// live in ../plugins, the loop that feeds pods through a Profile in the
// scheduler package.
package framework

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// The range of a node's score, after normalizing, from every ScorePlugin.
const (
	MinNodeScore int64 = 0
	MaxNodeScore int64 = 100
)

// Code classifies a Status.
type Code int

// The status codes.
const (
	// Success: the pod fits (Filter) or the step went well.
	Success Code = iota
	// Unschedulable: the pod does not fit the node now, for the Status's
	// reasons; it may later, when pods leave or the node changes.
	Unschedulable
	// Error: the plugin failed; the scheduling cycle is abandoned and the
	// pod retried with back-off.
	Error
	// Skip: a Bind plugin that does not bind this pod (another one, or
	// the scheduler's own binding, does).
	Skip
)

// String names the code.
func (c Code) String() string {
	switch c {
	case Success:
		return "Success"
	case Unschedulable:
		return "Unschedulable"
	case Error:
		return "Error"
	case Skip:
		return "Skip"
	}
	return "Unknown"
}

// Status is a plugin's answer. A nil *Status means Success, so plugins
// return nil when a node fits.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus returns a status with code and the reasons a user is shown
// ("Insufficient memory"); a node rejected for several reasons is counted
// under each in the pod's message.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
}

// AsStatus wraps a plugin's internal failure as an Error status; nil
// stays nil (Success).
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code is the status's code; Success for nil.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports whether s is nil or Success.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// Reasons are the user-facing reasons, in the order the plugin gave them.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Err is the failure wrapped by AsStatus, or nil.
func (s *Status) Err() error {
	if s == nil {
		return nil
	}
	return s.err
}

// Plugin names the plugin that returned the status (set by the Profile).
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin returns a copy of s that names the plugin that returned it;
// a copy, so a plugin may return one shared *Status for every node.
func (s *Status) WithPlugin(name string) *Status {
	if s == nil {
		return nil
	}
	cp := *s
	cp.plugin = name
	return &cp
}

// Message joins the reasons with ", ".
func (s *Status) Message() string { return strings.Join(s.Reasons(), ", ") }

// StateKey names one piece of data in a CycleState; plugins prefix keys
// with their name.
type StateKey string

// CycleState carries what plugins compute once per pod and scheduling
// cycle (the pod's summed requests, its parsed affinity) from PreFilter to
// Filter, Score and PreBind. It is safe for concurrent use.
//
// Filters and scorers read it on every node of a cycle, from several
// goroutines at once, while it is written a few times per cycle: reads
// take no lock (a lock's shared counter, written by every reader, cost
// more than the plugins' own work on each node), and a write replaces the
// whole set of entries. A handful of entries is scanned faster than a
// map is hashed.
type CycleState struct {
	mu      sync.Mutex // serialises writers
	entries atomic.Pointer[[]stateEntry]
	nodes   atomic.Pointer[[]*NodeInfo]
}

type stateEntry struct {
	key StateKey
	val any
}

// Nodes is the snapshot the cycle schedules over: every node, sorted by
// name, with its pods (bound and assumed). Profile.Schedule sets it
// before PreFilter, so PreFilter plugins can count pods across the
// cluster (spreading, pod affinity). The NodeInfos are shared and must
// not be changed.
func (c *CycleState) Nodes() []*NodeInfo {
	if p := c.nodes.Load(); p != nil {
		return *p
	}
	return nil
}

// SetNodes records the cycle's snapshot (see Nodes).
func (c *CycleState) SetNodes(nodes []*NodeInfo) { c.nodes.Store(&nodes) }

// NewCycleState returns an empty state for one cycle.
func NewCycleState() *CycleState { return &CycleState{} }

// Write stores v under k.
func (c *CycleState) Write(k StateKey, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old []stateEntry
	if p := c.entries.Load(); p != nil {
		old = *p
	}
	next := make([]stateEntry, 0, len(old)+1)
	replaced := false
	for _, e := range old {
		if e.key == k {
			e.val, replaced = v, true
		}
		next = append(next, e)
	}
	if !replaced {
		next = append(next, stateEntry{key: k, val: v})
	}
	c.entries.Store(&next)
}

// Read returns what is stored under k.
func (c *CycleState) Read(k StateKey) (any, bool) {
	p := c.entries.Load()
	if p == nil {
		return nil, false
	}
	for _, e := range *p {
		if e.key == k {
			return e.val, true
		}
	}
	return nil, false
}

// ReadAs returns what is stored under k if it is a T.
func ReadAs[T any](c *CycleState, k StateKey) (T, bool) {
	v, ok := c.Read(k)
	t, isT := v.(T)
	return t, ok && isT
}

// Plugin is what every plugin is: a name, unique in a Profile, shown with
// the reasons it gives.
type Plugin interface {
	Name() string
}

// PreFilterPlugin runs once per pod before any node is looked at, to
// compute into the CycleState what Filter and Score need on every node. A
// non-success status ends the cycle: Unschedulable counts every node under
// its reasons, Error retries the pod with back-off.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *v1.Pod) *Status
}

// FilterPlugin drops nodes the pod cannot run on. It returns nil when the
// pod fits node, Unschedulable with named reasons when it does not, and
// Error when it cannot tell (the cycle is abandoned and retried with
// back-off). It must not change node, which is shared, and may be called
// concurrently for different nodes.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *v1.Pod, node *NodeInfo) *Status
}

// ScorePlugin ranks the nodes that passed every filter: a score from
// MinNodeScore to MaxNodeScore, higher is better, multiplied by the
// plugin's weight in the Profile. A plugin that also implements
// ScoreNormalizer may return raw scores and scale them there. A non-success
// status abandons the cycle. The same rules as Filter apply to node.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *v1.Pod, node *NodeInfo) (int64, *Status)
}

// ScoreNormalizer is implemented by a ScorePlugin whose raw scores only
// make sense relative to each other (counts of untolerated taints); it
// rewrites scores in place into MinNodeScore..MaxNodeScore.
type ScoreNormalizer interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *v1.Pod, scores []NodeScore) *Status
}

// PreBindPlugin runs after the scheduler has chosen nodeName for pod and
// assumed the pod there, and before it writes the binding: the place to
// write what the pod needs on that node first (the selected node of its
// volume claims). Plugins run in Profile order and the first non-success
// stops the binding; the scheduler then forgets the assumed pod.
// Unschedulable means the decision no longer holds (the room it counted
// on was taken by a pod decided meanwhile, or an object it read changed):
// the pod is decided again shortly. Error retries the pod with back-off.
// PreBind runs outside the scheduler's decision lock, so it may be called
// for several pods at once, and it must re-check what it relies on.
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status
}

// ReservePlugin keeps what a plugin hands out (a device's IOPS, a node's
// network bandwidth) counted for the pod from the moment its node is
// chosen until its binding is confirmed by the informer: Reserve runs
// right after the decision, under the scheduler's decision lock, so the
// next decision sees it; Unreserve undoes it when PreBind or Bind fails
// or the pod goes before its binding is seen. Unreserve must be
// idempotent and must not fail. A Reserve that fails ends the cycle like
// a PreBind failure (Unschedulable: decide again shortly).
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string)
}

// BindPlugin writes the binding of pod to nodeName. Bind plugins run in
// order until one returns other than Skip; when every one skips, the
// scheduler binds itself (a conditional update of spec.nodeName). An
// extender with a bindVerb is a BindPlugin.
type BindPlugin interface {
	Plugin
	Bind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status
}

// NodeScore is one node's score from one plugin.
type NodeScore struct {
	Name  string
	Score int64
}

// Extender is a scheduler extender (SPECS.md §5) as the Profile sees it:
// it filters and ranks the nodes every plugin accepted, in one call for
// all of them, and may bind. The HTTP client lives in ../extender.
type Extender interface {
	// Name identifies the extender in reasons and logs (its URL prefix).
	Name() string
	// IsInterested reports whether the pod is sent at all: an extender
	// with managed resources sees only pods that request one of them.
	IsInterested(pod *v1.Pod) bool
	// IsIgnorable reports whether a failing call is skipped rather than
	// failing the pod's scheduling attempt.
	IsIgnorable() bool
	// Filter returns the nodes of nodes that pass (a subset, in order),
	// and for the others the reason each failed; unresolvable ones are
	// also in failed. A nil Filter result with nil error means the
	// extender has no filter verb.
	Filter(ctx context.Context, pod *v1.Pod, nodes []*NodeInfo) (passed []*NodeInfo, failed map[string]string, err error)
	// Prioritize returns a score per node name, already scaled to
	// Kennel's range (extender score × weight × 10); nil when the
	// extender has no prioritize verb.
	Prioritize(ctx context.Context, pod *v1.Pod, nodes []*NodeInfo) (map[string]int64, error)
	// IsBinder reports whether the extender binds pods (a bind verb).
	IsBinder() bool
	// Bind asks the extender to bind pod to node.
	Bind(ctx context.Context, pod *v1.Pod, node string) error
}
