package framework

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// ProfilePlugin places one plugin in a Profile. Weight multiplies the
// plugin's scores; zero means 1, and it is ignored for plugins that do not
// score.
type ProfilePlugin struct {
	Plugin Plugin
	Weight int64
}

// Profile is the scheduling pipeline: at each extension point an ordered
// list of plugins, then the extenders, which see the nodes every filter
// accepted.
type Profile struct {
	preFilters []PreFilterPlugin
	filters    []FilterPlugin
	scorers    []weightedScorer
	reserves   []ReservePlugin
	preBinds   []PreBindPlugin
	binds      []BindPlugin
	extenders  []Extender

	// percentage of nodes to score; see numFeasibleNodesToFind.
	percentage int
	mu         sync.Mutex
	nextStart  int // where the next cycle starts looking, round robin
	// scoreBufs recycles the per-plugin score slices of a cycle (a few
	// hundred kilobytes per pod otherwise, all garbage at its end).
	scoreBufs sync.Pool
}

type weightedScorer struct {
	ScorePlugin
	weight int64
}

// NewProfile builds a profile from plugins in the order given. A plugin
// that implements several extension points (a filter that also scores)
// takes part in each. Names must be unique, and every plugin must
// implement at least one extension point. It is PluginSet's "multiPoint".
func NewProfile(plugins ...ProfilePlugin) (*Profile, error) {
	byName := map[string]Plugin{}
	var set PluginSet
	for i, e := range plugins {
		if e.Plugin == nil {
			return nil, fmt.Errorf("scheduler/framework: plugins[%d]: plugin is nil", i)
		}
		name := e.Plugin.Name()
		switch {
		case name == "":
			return nil, fmt.Errorf("scheduler/framework: plugins[%d]: name is empty", i)
		case byName[name] != nil:
			return nil, fmt.Errorf("scheduler/framework: plugins[%d]: duplicate plugin %q", i, name)
		case e.Weight < 0:
			return nil, fmt.Errorf("scheduler/framework: plugins[%d] (%s): weight: must not be negative, got %d", i, name, e.Weight)
		}
		byName[name] = e.Plugin
		if !set.addAll(e.Plugin, e.Weight) {
			return nil, fmt.Errorf("scheduler/framework: plugins[%d] (%s): implements no extension point", i, name)
		}
	}
	return NewProfileFromSet(byName, set, ProfileOptions{})
}

// PluginSet names the plugins at each extension point, in the order they
// run; a score plugin has a weight (zero means 1).
type PluginSet struct {
	PreFilter []string
	Filter    []string
	Score     []WeightedPlugin
	Reserve   []string
	PreBind   []string
	Bind      []string
}

// WeightedPlugin is a score plugin's name and weight.
type WeightedPlugin struct {
	Name   string
	Weight int64
}

// addAll adds p at every extension point it implements and reports
// whether there was one.
func (s *PluginSet) addAll(p Plugin, weight int64) bool {
	used := false
	name := p.Name()
	if _, ok := p.(PreFilterPlugin); ok {
		s.PreFilter, used = append(s.PreFilter, name), true
	}
	if _, ok := p.(FilterPlugin); ok {
		s.Filter, used = append(s.Filter, name), true
	}
	if _, ok := p.(ScorePlugin); ok {
		s.Score, used = append(s.Score, WeightedPlugin{Name: name, Weight: weight}), true
	}
	if _, ok := p.(ReservePlugin); ok {
		s.Reserve, used = append(s.Reserve, name), true
	}
	if _, ok := p.(PreBindPlugin); ok {
		s.PreBind, used = append(s.PreBind, name), true
	}
	if _, ok := p.(BindPlugin); ok {
		s.Bind, used = append(s.Bind, name), true
	}
	return used
}

// ProfileOptions are a Profile's settings beyond its plugins.
type ProfileOptions struct {
	// Extenders run after the filters and scorers, in order.
	Extenders []Extender
	// PercentageOfNodesToScore bounds how many feasible nodes a cycle
	// looks for before it stops filtering, as in Kubernetes: 0 means
	// adaptive (50% of the nodes, less 1% per 125 nodes, at least 5%),
	// 100 means every node. Clusters under 100 nodes are always
	// searched whole, and at least 100 feasible nodes are sought.
	PercentageOfNodesToScore int
}

// NewProfileFromSet builds a profile whose extension points run the
// plugins set names, looked up in plugins. A name at an extension point
// its plugin does not implement is an error.
func NewProfileFromSet(plugins map[string]Plugin, set PluginSet, opts ProfileOptions) (*Profile, error) {
	if opts.PercentageOfNodesToScore < 0 || opts.PercentageOfNodesToScore > 100 {
		return nil, fmt.Errorf("scheduler/framework: percentageOfNodesToScore: must be between 0 and 100, got %d", opts.PercentageOfNodesToScore)
	}
	p := &Profile{extenders: opts.Extenders, percentage: opts.PercentageOfNodesToScore}
	var err error
	if p.preFilters, err = pluginsAt[PreFilterPlugin](plugins, "preFilter", set.PreFilter); err != nil {
		return nil, err
	}
	if p.filters, err = pluginsAt[FilterPlugin](plugins, "filter", set.Filter); err != nil {
		return nil, err
	}
	names := make([]string, len(set.Score))
	for i, w := range set.Score {
		if w.Weight < 0 {
			return nil, fmt.Errorf("scheduler/framework: score[%d] (%s): weight: must not be negative, got %d", i, w.Name, w.Weight)
		}
		names[i] = w.Name
	}
	scorers, err := pluginsAt[ScorePlugin](plugins, "score", names)
	if err != nil {
		return nil, err
	}
	for i, sp := range scorers {
		p.scorers = append(p.scorers, weightedScorer{sp, max(set.Score[i].Weight, 1)})
	}
	if p.reserves, err = pluginsAt[ReservePlugin](plugins, "reserve", set.Reserve); err != nil {
		return nil, err
	}
	if p.preBinds, err = pluginsAt[PreBindPlugin](plugins, "preBind", set.PreBind); err != nil {
		return nil, err
	}
	if p.binds, err = pluginsAt[BindPlugin](plugins, "bind", set.Bind); err != nil {
		return nil, err
	}
	return p, nil
}

// pluginsAt looks names up and checks each implements the point's T.
func pluginsAt[T Plugin](plugins map[string]Plugin, point string, names []string) ([]T, error) {
	out := make([]T, 0, len(names))
	seen := map[string]bool{}
	for i, name := range names {
		pl, ok := plugins[name]
		if !ok {
			return nil, fmt.Errorf("scheduler/framework: %s[%d]: no plugin named %q", point, i, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("scheduler/framework: %s[%d]: plugin %q is listed twice", point, i, name)
		}
		seen[name] = true
		t, ok := pl.(T)
		if !ok {
			return nil, fmt.Errorf("scheduler/framework: %s[%d]: plugin %q has no %s extension point", point, i, name, point)
		}
		out = append(out, t)
	}
	return out, nil
}

// Plugins lists the plugin names at each extension point, in order, for
// logs and documentation.
func (p *Profile) Plugins() map[string][]string {
	out := map[string][]string{}
	add := func(point string, names ...string) {
		if len(names) > 0 {
			out[point] = append(out[point], names...)
		}
	}
	for _, pl := range p.preFilters {
		add("PreFilter", pl.Name())
	}
	for _, pl := range p.filters {
		add("Filter", pl.Name())
	}
	for _, pl := range p.scorers {
		add("Score", fmt.Sprintf("%s(weight=%d)", pl.Name(), pl.weight))
	}
	for _, pl := range p.reserves {
		add("Reserve", pl.Name())
	}
	for _, pl := range p.preBinds {
		add("PreBind", pl.Name())
	}
	for _, pl := range p.binds {
		add("Bind", pl.Name())
	}
	for _, e := range p.extenders {
		add("Extenders", e.Name())
	}
	return out
}

// ScheduleResult is where a pod goes.
type ScheduleResult struct {
	// NodeName is the chosen node.
	NodeName string
	// Evaluated is the number of nodes filtered; Feasible of those passed.
	Evaluated, Feasible int
	// State is the cycle's state, handed on to RunPreBind.
	State *CycleState
}

// Schedule runs the pipeline for pod over nodes, which the caller sorts
// by name: it returns the feasible node with the highest weighted score,
// the first by name among equals. When no node fits the error is a
// *FitError that says why each node was rejected; any other error is a
// plugin's failure.
func (p *Profile) Schedule(ctx context.Context, pod *v1.Pod, nodes []*NodeInfo) (ScheduleResult, error) {
	state := NewCycleState()
	state.SetNodes(nodes)
	if s := p.runPreFilters(ctx, state, pod); !s.IsSuccess() {
		if s.Code() == Error {
			return ScheduleResult{}, statusError(s)
		}
		return ScheduleResult{}, fitErrorForAll(pod, nodes, s)
	}
	feasible, diagnosis, evaluated, err := p.filterNodes(ctx, state, pod, nodes)
	if err != nil {
		return ScheduleResult{}, err
	}
	if feasible, err = p.runExtenderFilters(ctx, pod, feasible, diagnosis); err != nil {
		return ScheduleResult{}, err
	}
	if len(feasible) == 0 {
		return ScheduleResult{}, &FitError{Pod: pod, NumAllNodes: len(nodes), Diagnosis: diagnosis}
	}
	res := ScheduleResult{Evaluated: evaluated, Feasible: len(feasible), NodeName: feasible[0].Name(), State: state}
	if len(feasible) == 1 {
		return res, nil // nothing to rank
	}
	totals, err := p.scoreNodes(ctx, state, pod, feasible)
	if err != nil {
		return ScheduleResult{}, err
	}
	p.addExtenderScores(ctx, pod, feasible, totals)
	best := 0
	for i := range totals {
		if totals[i] > totals[best] || (totals[i] == totals[best] && feasible[i].Name() < feasible[best].Name()) {
			best = i
		}
	}
	res.NodeName = feasible[best].Name()
	return res, nil
}

// NumFeasibleNodesToFind is how many feasible nodes a cycle over n nodes
// looks for before it stops filtering, for percentage (0: adaptive), as
// Kubernetes computes it.
func NumFeasibleNodesToFind(percentage, n int) int {
	const minFeasible, minPercentage = 100, 5
	if n < minFeasible || percentage >= 100 {
		return n
	}
	if percentage <= 0 {
		percentage = max(50-n/125, minPercentage)
	}
	return min(max(n*percentage/100, minFeasible), n)
}

func (p *Profile) runPreFilters(ctx context.Context, state *CycleState, pod *v1.Pod) *Status {
	for _, pl := range p.preFilters {
		if s := pl.PreFilter(ctx, state, pod); !s.IsSuccess() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// filterNodes keeps the nodes every filter accepts and records, for each
// other node, the status of the first filter that rejected it. It stops
// once it has NumFeasibleNodesToFind nodes, starting where the previous
// cycle stopped so that every node gets its turn; it returns how many
// nodes it looked at.
func (p *Profile) filterNodes(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) ([]*NodeInfo, Diagnosis, int, error) {
	want := NumFeasibleNodesToFind(p.percentage, len(nodes))
	start := 0
	if want < len(nodes) {
		p.mu.Lock()
		start = p.nextStart % len(nodes)
		p.mu.Unlock()
	}
	feasible := make([]*NodeInfo, 0, min(want, len(nodes)))
	diagnosis := Diagnosis{}
	evaluated := 0
	// In rounds of as many nodes as are still wanted, each round's nodes
	// filtered in parallel and taken in order: the same nodes, in the
	// same order, as one at a time.
	for evaluated < len(nodes) && len(feasible) < want {
		if err := ctx.Err(); err != nil {
			return nil, nil, 0, err
		}
		batch := min(want-len(feasible), len(nodes)-evaluated)
		statuses := make([]*Status, batch)
		parallelChunks(batch, func(lo, hi int) error {
			for i := lo; i < hi; i++ {
				statuses[i] = p.RunFilters(ctx, state, pod, nodes[(start+evaluated+i)%len(nodes)])
			}
			return nil
		})
		for i, s := range statuses {
			n := nodes[(start+evaluated+i)%len(nodes)]
			switch s.Code() {
			case Success:
				feasible = append(feasible, n)
			case Unschedulable:
				diagnosis[n.Name()] = s
			default:
				return nil, nil, 0, fmt.Errorf("node %s: %w", n.Name(), statusError(s))
			}
		}
		evaluated += batch
	}
	if want < len(nodes) {
		p.mu.Lock()
		p.nextStart = (start + evaluated) % len(nodes)
		p.mu.Unlock()
	}
	return feasible, diagnosis, evaluated, nil
}

// runExtenderFilters passes the feasible nodes through each interested
// extender; the nodes an extender drops join the diagnosis with its
// reason. A failing extender fails the cycle unless it is ignorable.
func (p *Profile) runExtenderFilters(ctx context.Context, pod *v1.Pod, feasible []*NodeInfo, diagnosis Diagnosis) ([]*NodeInfo, error) {
	for _, e := range p.extenders {
		if len(feasible) == 0 {
			break
		}
		if !e.IsInterested(pod) {
			continue
		}
		passed, failed, err := e.Filter(ctx, pod, feasible)
		if err != nil {
			if e.IsIgnorable() {
				continue
			}
			return nil, err // names the extender and the call
		}
		if passed == nil && failed == nil {
			continue // no filter verb
		}
		kept := map[string]bool{}
		for _, n := range passed {
			kept[n.Name()] = true
		}
		for _, n := range feasible {
			if kept[n.Name()] {
				continue
			}
			reason := failed[n.Name()]
			if reason == "" {
				reason = "node(s) were rejected by extender " + e.Name()
			}
			diagnosis[n.Name()] = NewStatus(Unschedulable, reason).WithPlugin("extender " + e.Name())
		}
		feasible = passed
	}
	return feasible, nil
}

// addExtenderScores adds each interested extender's scaled scores; a
// failing prioritize is ignored, as in Kubernetes.
func (p *Profile) addExtenderScores(ctx context.Context, pod *v1.Pod, nodes []*NodeInfo, totals []int64) {
	for _, e := range p.extenders {
		if !e.IsInterested(pod) {
			continue
		}
		scores, err := e.Prioritize(ctx, pod, nodes)
		if err != nil {
			continue
		}
		for i, n := range nodes {
			totals[i] += scores[n.Name()]
		}
	}
}

// RunFilters runs the filters on one node, stopping at the first that
// rejects it, whose status it returns.
func (p *Profile) RunFilters(ctx context.Context, state *CycleState, pod *v1.Pod, node *NodeInfo) *Status {
	for _, pl := range p.filters {
		if s := pl.Filter(ctx, state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunPreBind runs the PreBind plugins for pod on the chosen node, in
// order, stopping at the first that fails, whose status it returns; state
// is the ScheduleResult's (a fresh one when nil).
func (p *Profile) RunPreBind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status {
	if state == nil {
		state = NewCycleState()
	}
	for _, pl := range p.preBinds {
		if s := pl.PreBind(ctx, state, pod, nodeName); !s.IsSuccess() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunReserve reserves what the plugins hand out for pod on nodeName, in
// order; when one fails, the ones before it are unreserved and its status
// returned.
func (p *Profile) RunReserve(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status {
	if state == nil {
		state = NewCycleState()
	}
	for i, pl := range p.reserves {
		if s := pl.Reserve(ctx, state, pod, nodeName); !s.IsSuccess() {
			for j := i - 1; j >= 0; j-- {
				p.reserves[j].Unreserve(ctx, state, pod, nodeName)
			}
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunUnreserve undoes RunReserve, in reverse order.
func (p *Profile) RunUnreserve(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) {
	if state == nil {
		state = NewCycleState()
	}
	for i := len(p.reserves) - 1; i >= 0; i-- {
		p.reserves[i].Unreserve(ctx, state, pod, nodeName)
	}
}

// RunBind offers the binding first to a binding extender interested in
// the pod (as Kubernetes does), then to the Bind plugins in order. It
// returns Skip when none of them binds, and the scheduler writes the
// binding itself.
func (p *Profile) RunBind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status {
	if state == nil {
		state = NewCycleState()
	}
	for _, e := range p.extenders {
		if e.IsBinder() && e.IsInterested(pod) {
			if err := e.Bind(ctx, pod, nodeName); err != nil {
				return AsStatus(err).WithPlugin("extender " + e.Name())
			}
			return nil
		}
	}
	for _, pl := range p.binds {
		if s := pl.Bind(ctx, state, pod, nodeName); s.Code() != Skip {
			return s.WithPlugin(pl.Name())
		}
	}
	return NewStatus(Skip)
}

// scoreNodes returns each node's weighted total over the scorers.
func (p *Profile) scoreNodes(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) ([]int64, error) {
	// Node by node, every scorer (each node's data is read from memory
	// once, not once per plugin), the nodes split over the CPUs.
	raw := p.scoreBuffers(len(nodes))
	defer p.scoreBufs.Put(&raw)
	err := parallelChunks(len(nodes), func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			n := nodes[i]
			for j, pl := range p.scorers {
				v, s := pl.Score(ctx, state, pod, n)
				if !s.IsSuccess() {
					return fmt.Errorf("node %s: %w", n.Name(), statusError(s.WithPlugin(pl.Name())))
				}
				raw[j][i] = NodeScore{Name: n.Name(), Score: v}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	totals := make([]int64, len(nodes))
	for j, pl := range p.scorers {
		scores := raw[j]
		if norm, ok := pl.ScorePlugin.(ScoreNormalizer); ok {
			if s := norm.NormalizeScore(ctx, state, pod, scores); !s.IsSuccess() {
				return nil, statusError(s.WithPlugin(pl.Name()))
			}
		}
		for i, sc := range scores {
			if sc.Score < MinNodeScore || sc.Score > MaxNodeScore {
				return nil, fmt.Errorf("scheduler/framework: plugin %s scored node %s %d, outside [%d, %d]",
					pl.Name(), sc.Name, sc.Score, MinNodeScore, MaxNodeScore)
			}
			totals[i] += sc.Score * pl.weight
		}
	}
	return totals, nil
}

// scoreBuffers returns a slice of n scores per scorer, recycled from an
// earlier cycle when there is one. Plugins must not keep the slices they
// are given to normalize.
func (p *Profile) scoreBuffers(n int) [][]NodeScore {
	var raw [][]NodeScore
	if b, ok := p.scoreBufs.Get().(*[][]NodeScore); ok && len(*b) == len(p.scorers) {
		raw = *b
	} else {
		raw = make([][]NodeScore, len(p.scorers))
	}
	for j := range raw {
		if cap(raw[j]) < n {
			raw[j] = make([]NodeScore, n)
		}
		raw[j] = raw[j][:n]
	}
	return raw
}

// minChunk is the fewest nodes worth a goroutine of their own.
const minChunk = 64

// parallelChunks calls f on consecutive ranges covering [0, n), on up to
// GOMAXPROCS goroutines (one when n is small), and returns the first
// error by range order.
func parallelChunks(n int, f func(lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), (n+minChunk-1)/minChunk)
	if workers <= 1 {
		return f(0, n)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() { errs[w] = f(lo, hi) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// statusError turns a failed status into an error naming its plugin.
func statusError(s *Status) error {
	err := s.Err()
	if err == nil {
		err = errors.New(s.Message())
	}
	return fmt.Errorf("scheduler/framework: plugin %s: %w", s.Plugin(), err)
}
