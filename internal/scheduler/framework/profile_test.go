package framework

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// fakePlugin is a configurable plugin for pipeline tests: it rejects the
// nodes in reject with their reasons and scores nodes from score.
type fakePlugin struct {
	name      string
	reject    map[string][]string
	score     map[string]int64
	preFilter *Status
	filterErr error
	calls     *[]string
}

func (f *fakePlugin) Name() string { return f.name }

func (f *fakePlugin) PreFilter(_ context.Context, _ *CycleState, _ *v1.Pod) *Status {
	return f.preFilter
}

func (f *fakePlugin) Filter(_ context.Context, _ *CycleState, _ *v1.Pod, n *NodeInfo) *Status {
	if f.calls != nil {
		*f.calls = append(*f.calls, f.name+":"+n.Name())
	}
	if f.filterErr != nil {
		return AsStatus(f.filterErr)
	}
	if r, ok := f.reject[n.Name()]; ok {
		return NewStatus(Unschedulable, r...)
	}
	return nil
}

// scorer scores only; a filter-only plugin is fakePlugin without Score.
type scorer struct {
	name   string
	scores map[string]int64
}

func (s scorer) Name() string { return s.name }

func (s scorer) Score(_ context.Context, _ *CycleState, _ *v1.Pod, n *NodeInfo) (int64, *Status) {
	return s.scores[n.Name()], nil
}

func nodes(names ...string) []*NodeInfo {
	out := make([]*NodeInfo, len(names))
	for i, n := range names {
		out[i] = NewNodeInfo(&v1.Node{ObjectMeta: v1.ObjectMeta{Name: n}})
	}
	return out
}

func mustProfile(t *testing.T, ps ...ProfilePlugin) *Profile {
	t.Helper()
	p, err := NewProfile(ps...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewProfileRejects(t *testing.T) {
	tests := []struct {
		name    string
		plugins []ProfilePlugin
		want    string
	}{
		{"nil plugin", []ProfilePlugin{{}}, "plugins[0]: plugin is nil"},
		{"empty name", []ProfilePlugin{{Plugin: scorer{}}}, "plugins[0]: name is empty"},
		{"duplicate", []ProfilePlugin{{Plugin: scorer{name: "a"}}, {Plugin: scorer{name: "a"}}}, `plugins[1]: duplicate plugin "a"`},
		{"negative weight", []ProfilePlugin{{Plugin: scorer{name: "a"}, Weight: -1}}, "weight: must not be negative"},
		{"no extension point", []ProfilePlugin{{Plugin: named("x")}}, "implements no extension point"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewProfile(tt.plugins...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

type named string

func (n named) Name() string { return string(n) }

func TestScheduleFiltersInOrderAndStopsAtFirstRejection(t *testing.T) {
	var calls []string
	first := &fakePlugin{name: "First", reject: map[string][]string{"a": {"no a"}}, calls: &calls}
	second := &fakePlugin{name: "Second", reject: map[string][]string{"b": {"no b"}}, calls: &calls}
	p := mustProfile(t, ProfilePlugin{Plugin: first}, ProfilePlugin{Plugin: second})
	res, err := p.Schedule(context.Background(), &v1.Pod{}, nodes("a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if res.NodeName != "c" || res.Evaluated != 3 || res.Feasible != 1 {
		t.Fatalf("result = %+v, want c of 3 evaluated, 1 feasible", res)
	}
	want := "First:a First:b Second:b First:c Second:c"
	if got := strings.Join(calls, " "); got != want {
		t.Fatalf("filter calls = %q, want %q", got, want)
	}
}

func TestScheduleScoresWeighted(t *testing.T) {
	spread := scorer{name: "Spread", scores: map[string]int64{"a": 90, "b": 50, "c": 10}}
	pack := scorer{name: "Pack", scores: map[string]int64{"a": 0, "b": 40, "c": 100}}
	tests := []struct {
		name       string
		wSpread    int64
		wPack      int64
		candidates []string
		want       string
	}{
		{"equal weights: c (110) over a (90)", 1, 1, []string{"a", "b", "c"}, "c"},
		{"spread weighs more: a", 3, 1, []string{"a", "b", "c"}, "a"},
		{"zero weight means one", 0, 0, []string{"a", "b", "c"}, "c"},
		{"ties go to the first by name", 1, 1, []string{"a", "b"}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustProfile(t, ProfilePlugin{Plugin: spread, Weight: tt.wSpread}, ProfilePlugin{Plugin: pack, Weight: tt.wPack})
			res, err := p.Schedule(context.Background(), &v1.Pod{}, nodes(tt.candidates...))
			if err != nil {
				t.Fatal(err)
			}
			if res.NodeName != tt.want {
				t.Fatalf("chose %s, want %s", res.NodeName, tt.want)
			}
		})
	}
}

func TestScheduleRejectsScoresOutOfRange(t *testing.T) {
	p := mustProfile(t, ProfilePlugin{Plugin: scorer{name: "Wild", scores: map[string]int64{"a": 101}}})
	_, err := p.Schedule(context.Background(), &v1.Pod{}, nodes("a", "b"))
	if err == nil || !strings.Contains(err.Error(), "plugin Wild scored node a 101") {
		t.Fatalf("err = %v, want an out-of-range error naming the plugin", err)
	}
}

func TestScheduleFilterErrorAbandonsCycle(t *testing.T) {
	boom := errors.New("boom")
	p := mustProfile(t, ProfilePlugin{Plugin: &fakePlugin{name: "Broken", filterErr: boom}})
	_, err := p.Schedule(context.Background(), &v1.Pod{}, nodes("a"))
	var fit *FitError
	if !errors.Is(err, boom) || errors.As(err, &fit) || !strings.Contains(err.Error(), "plugin Broken") {
		t.Fatalf("err = %v, want the plugin's error, not a FitError", err)
	}
}

func TestScheduleFitError(t *testing.T) {
	resources := &fakePlugin{name: "Resources", reject: map[string][]string{
		"a": {"Insufficient cpu", "Insufficient memory"},
		"b": {"Insufficient memory"},
		"c": {"Insufficient memory", "Insufficient memory"},
	}}
	ready := &fakePlugin{name: "Ready", reject: map[string][]string{"d": {"node is not ready"}, "e": {"node is not ready"}}}
	p := mustProfile(t, ProfilePlugin{Plugin: ready}, ProfilePlugin{Plugin: resources})
	_, err := p.Schedule(context.Background(), &v1.Pod{}, nodes("a", "b", "c", "d", "e"))
	var fit *FitError
	if !errors.As(err, &fit) {
		t.Fatalf("err = %v, want a FitError", err)
	}
	// A node counts once under each of its reasons; ties by name.
	want := "0/5 nodes are available: 3 Insufficient memory, 2 node is not ready, 1 Insufficient cpu."
	if fit.Error() != want {
		t.Fatalf("message = %q\nwant      %q", fit.Error(), want)
	}
	if got := fit.Diagnosis["d"].Plugin(); got != "Ready" {
		t.Fatalf("node d rejected by %q, want Ready", got)
	}
}

func TestFitErrorMessages(t *testing.T) {
	notReady := NewStatus(Unschedulable, "node is not ready")
	memory := NewStatus(Unschedulable, "Insufficient memory")
	tests := []struct {
		name string
		fit  FitError
		want string
	}{
		{"no nodes", FitError{}, NoNodesMessage},
		{"the example", FitError{NumAllNodes: 3, Diagnosis: Diagnosis{"a": memory, "b": memory, "c": notReady}},
			"0/3 nodes are available: 2 Insufficient memory, 1 node is not ready."},
		{"equal counts by name", FitError{NumAllNodes: 2, Diagnosis: Diagnosis{"a": notReady, "b": memory}},
			"0/2 nodes are available: 1 Insufficient memory, 1 node is not ready."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fit.Error(); got != tt.want {
				t.Fatalf("message = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSchedulePreFilterRejectsEveryNode(t *testing.T) {
	p := mustProfile(t, ProfilePlugin{Plugin: &fakePlugin{name: "Pre", preFilter: NewStatus(Unschedulable, "pod has unbound volumes")}})
	_, err := p.Schedule(context.Background(), &v1.Pod{}, nodes("a", "b"))
	if err == nil || err.Error() != "0/2 nodes are available: 2 pod has unbound volumes." {
		t.Fatalf("err = %v", err)
	}
}

func TestCycleState(t *testing.T) {
	s := NewCycleState()
	s.Write("k", 42)
	if v, ok := ReadAs[int](s, "k"); !ok || v != 42 {
		t.Fatalf("ReadAs[int] = %v, %v", v, ok)
	}
	if _, ok := ReadAs[string](s, "k"); ok {
		t.Fatal("ReadAs[string] of an int succeeded")
	}
	if _, ok := s.Read("missing"); ok {
		t.Fatal("Read of a missing key succeeded")
	}
	s.Write("k", 43)
	if v, _ := ReadAs[int](s, "k"); v != 43 {
		t.Fatalf("after a second write ReadAs = %v, want 43", v)
	}
}

// Readers on many goroutines see every key written before they started,
// and each key's value whole, while writers add and replace keys (run
// with -race: reads take no lock).
func TestCycleStateConcurrent(t *testing.T) {
	s := NewCycleState()
	s.Write("base", 0)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Go(func() {
			for i := 0; i < 500; i++ {
				s.Write(StateKey(fmt.Sprint("w", w, "-", i%10)), i)
			}
		})
	}
	for r := 0; r < 4; r++ {
		wg.Go(func() {
			for i := 0; i < 2000; i++ {
				if v, ok := ReadAs[int](s, "base"); !ok || v != 0 {
					t.Errorf("base = %v, %v", v, ok)
					return
				}
				if v, ok := ReadAs[int](s, "w0-3"); ok && (v < 0 || v >= 500) {
					t.Errorf("w0-3 = %v", v)
					return
				}
			}
		})
	}
	wg.Wait()
	for w := 0; w < 2; w++ {
		for k := 0; k < 10; k++ {
			if v, ok := ReadAs[int](s, StateKey(fmt.Sprint("w", w, "-", k))); !ok || v%10 != k || v < 490 {
				t.Errorf("w%d-%d = %v, %v, want the last value written", w, k, v, ok)
			}
		}
	}
}

// binder is a PreBind-only plugin that records its calls and fails when
// told to.
type binder struct {
	name  string
	fail  *Status
	calls *[]string
}

func (b binder) Name() string { return b.name }

func (b binder) PreBind(_ context.Context, state *CycleState, _ *v1.Pod, node string) *Status {
	v, _ := ReadAs[string](state, "seen")
	*b.calls = append(*b.calls, b.name+":"+node+":"+v)
	return b.fail
}

// stateWriter writes into the cycle state in PreFilter, for PreBind to
// read.
type stateWriter struct{}

func (stateWriter) Name() string { return "Writer" }

func (stateWriter) PreFilter(_ context.Context, state *CycleState, _ *v1.Pod) *Status {
	state.Write("seen", "from-prefilter")
	return nil
}

func TestRunPreBindInOrderStopsAtFirstFailure(t *testing.T) {
	var calls []string
	p := mustProfile(t, ProfilePlugin{Plugin: stateWriter{}},
		ProfilePlugin{Plugin: binder{name: "A", calls: &calls}},
		ProfilePlugin{Plugin: binder{name: "B", calls: &calls, fail: NewStatus(Unschedulable, "taken")}},
		ProfilePlugin{Plugin: binder{name: "C", calls: &calls}})
	if got := p.Plugins()["PreBind"]; strings.Join(got, ",") != "A,B,C" {
		t.Fatalf("PreBind plugins = %v, want A,B,C", got)
	}
	res, err := p.Schedule(context.Background(), &v1.Pod{}, nodes("a"))
	if err != nil {
		t.Fatal(err)
	}
	s := p.RunPreBind(context.Background(), res.State, &v1.Pod{}, res.NodeName)
	if s.Code() != Unschedulable || s.Plugin() != "B" || s.Message() != "taken" {
		t.Fatalf("status = %s from %q: %q, want Unschedulable from B: taken", s.Code(), s.Plugin(), s.Message())
	}
	// The state of the cycle reaches PreBind; C never runs.
	if want := "A:a:from-prefilter B:a:from-prefilter"; strings.Join(calls, " ") != want {
		t.Fatalf("calls = %q, want %q", strings.Join(calls, " "), want)
	}
	if s := mustProfile(t, ProfilePlugin{Plugin: stateWriter{}}).RunPreBind(context.Background(), nil, &v1.Pod{}, "a"); !s.IsSuccess() {
		t.Fatalf("a profile without PreBind plugins: %s", s.Message())
	}
}
