package framework

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// ProfilePlugin places one plugin in a Profile. Weight multiplies the
// plugin's scores; zero means 1, and it is ignored for plugins that do not
// score.
type ProfilePlugin struct {
	Plugin Plugin
	Weight int64
}

// Profile is the scheduling pipeline: an ordered list of plugins, each run
// at every extension point it implements, in list order.
type Profile struct {
	preFilters []PreFilterPlugin
	filters    []FilterPlugin
	scorers    []weightedScorer
	preBinds   []PreBindPlugin
}

type weightedScorer struct {
	ScorePlugin
	weight int64
}

// NewProfile builds a profile from plugins in the order given. A plugin
// that implements several extension points (a filter that also scores)
// takes part in each. Names must be unique, and every plugin must
// implement at least one extension point.
func NewProfile(plugins ...ProfilePlugin) (*Profile, error) {
	p := &Profile{}
	seen := map[string]bool{}
	for i, e := range plugins {
		if e.Plugin == nil {
			return nil, fmt.Errorf("scheduler/framework: plugins[%d]: plugin is nil", i)
		}
		name := e.Plugin.Name()
		switch {
		case name == "":
			return nil, fmt.Errorf("scheduler/framework: plugins[%d]: name is empty", i)
		case seen[name]:
			return nil, fmt.Errorf("scheduler/framework: plugins[%d]: duplicate plugin %q", i, name)
		case e.Weight < 0:
			return nil, fmt.Errorf("scheduler/framework: plugins[%d] (%s): weight: must not be negative, got %d", i, name, e.Weight)
		}
		seen[name] = true
		used := false
		if pf, ok := e.Plugin.(PreFilterPlugin); ok {
			p.preFilters, used = append(p.preFilters, pf), true
		}
		if f, ok := e.Plugin.(FilterPlugin); ok {
			p.filters, used = append(p.filters, f), true
		}
		if s, ok := e.Plugin.(ScorePlugin); ok {
			p.scorers, used = append(p.scorers, weightedScorer{s, max(e.Weight, 1)}), true
		}
		if pb, ok := e.Plugin.(PreBindPlugin); ok {
			p.preBinds, used = append(p.preBinds, pb), true
		}
		if !used {
			return nil, fmt.Errorf("scheduler/framework: plugins[%d] (%s): implements no extension point", i, name)
		}
	}
	return p, nil
}

// Plugins lists the plugin names at each extension point, in order, for
// logs and documentation.
func (p *Profile) Plugins() map[string][]string {
	out := map[string][]string{}
	for _, pl := range p.preFilters {
		out["PreFilter"] = append(out["PreFilter"], pl.Name())
	}
	for _, pl := range p.filters {
		out["Filter"] = append(out["Filter"], pl.Name())
	}
	for _, pl := range p.scorers {
		out["Score"] = append(out["Score"], fmt.Sprintf("%s(weight=%d)", pl.Name(), pl.weight))
	}
	for _, pl := range p.preBinds {
		out["PreBind"] = append(out["PreBind"], pl.Name())
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
	feasible, diagnosis, err := p.filterNodes(ctx, state, pod, nodes)
	if err != nil {
		return ScheduleResult{}, err
	}
	if len(feasible) == 0 {
		return ScheduleResult{}, &FitError{Pod: pod, NumAllNodes: len(nodes), Diagnosis: diagnosis}
	}
	res := ScheduleResult{Evaluated: len(nodes), Feasible: len(feasible), NodeName: feasible[0].Name(), State: state}
	if len(feasible) == 1 {
		return res, nil // nothing to rank
	}
	totals, err := p.scoreNodes(ctx, state, pod, feasible)
	if err != nil {
		return ScheduleResult{}, err
	}
	best := 0
	for i := range totals {
		if totals[i] > totals[best] {
			best = i
		}
	}
	res.NodeName = feasible[best].Name()
	return res, nil
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
// other node, the status of the first filter that rejected it.
func (p *Profile) filterNodes(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) ([]*NodeInfo, Diagnosis, error) {
	feasible := make([]*NodeInfo, 0, len(nodes))
	diagnosis := Diagnosis{}
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		s := p.RunFilters(ctx, state, pod, n)
		switch s.Code() {
		case Success:
			feasible = append(feasible, n)
		case Unschedulable:
			diagnosis[n.Name()] = s
		default:
			return nil, nil, fmt.Errorf("node %s: %w", n.Name(), statusError(s))
		}
	}
	return feasible, diagnosis, nil
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

// scoreNodes returns each node's weighted total over the scorers.
func (p *Profile) scoreNodes(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) ([]int64, error) {
	totals := make([]int64, len(nodes))
	scores := make([]NodeScore, len(nodes))
	for _, pl := range p.scorers {
		for i, n := range nodes {
			v, s := pl.Score(ctx, state, pod, n)
			if !s.IsSuccess() {
				return nil, fmt.Errorf("node %s: %w", n.Name(), statusError(s.WithPlugin(pl.Name())))
			}
			scores[i] = NodeScore{Name: n.Name(), Score: v}
		}
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

// statusError turns a failed status into an error naming its plugin.
func statusError(s *Status) error {
	err := s.Err()
	if err == nil {
		err = errors.New(s.Message())
	}
	return fmt.Errorf("scheduler/framework: plugin %s: %w", s.Plugin(), err)
}
