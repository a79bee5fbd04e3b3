package config_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/config"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// known is Resolve's implements function over KnownPlugins.
func known(name string) ([]string, bool) {
	points, ok := config.KnownPlugins()[name]
	return points, ok
}

type weighted = framework.WeightedPlugin

// sw is a score plugin with its weight.
func sw(name string, weight int64) weighted { return weighted{Name: name, Weight: weight} }

// defaultsWith is DefaultPlugins changed by edit.
func defaultsWith(edit func(*framework.PluginSet)) framework.PluginSet {
	s := config.DefaultPlugins()
	edit(&s)
	return s
}

// withScore is DefaultPlugins with the score plugins edit returns.
func withScore(edit func([]weighted) []weighted) framework.PluginSet {
	return defaultsWith(func(s *framework.PluginSet) { s.Score = edit(s.Score) })
}

func without[T any](list []T, name string) []T {
	return slices.DeleteFunc(slices.Clone(list), func(e T) bool {
		switch e := any(e).(type) {
		case string:
			return e == name
		case weighted:
			return e.Name == name
		}
		return false
	})
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// profile parses a configuration of one profile whose plugins field is
// the YAML given (indented by 4).
func profile(t *testing.T, plugins string) *config.Configuration {
	t.Helper()
	c, _, err := config.Parse([]byte(header + "profiles:\n- schedulerName: p\n  plugins:\n" + plugins))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		plugins      string
		want         framework.PluginSet
		wantWarnings []string
		wantErrs     []string
	}{
		{name: "no changes", plugins: "    {}\n", want: config.DefaultPlugins()},
		{
			name:    "disable all scorers, enable one",
			plugins: "    score:\n      disabled:\n      - name: '*'\n      enabled:\n      - name: LeastAllocated\n        weight: 5\n",
			want:    withScore(func([]weighted) []weighted { return []weighted{sw("LeastAllocated", 5)} }),
		},
		{
			name:    "enable a new scorer without weight",
			plugins: "    score:\n      enabled:\n      - name: LeastAllocated\n",
			want:    withScore(func(s []weighted) []weighted { return append(s, sw("LeastAllocated", 1)) }),
		},
		{
			// As in Kubernetes: the point's own entry overrides the
			// default and runs first.
			name:    "re-enable a default with a new weight",
			plugins: "    score:\n      enabled:\n      - name: NodeAffinity\n        weight: 5\n",
			want: withScore(func(s []weighted) []weighted {
				return append([]weighted{sw("NodeAffinity", 5)}, without(s, "NodeAffinity")...)
			}),
		},
		{
			name:    "re-enable a default without weight",
			plugins: "    score:\n      enabled:\n      - name: InterPodAffinity\n",
			want: withScore(func(s []weighted) []weighted {
				return append([]weighted{sw("InterPodAffinity", 1)}, without(s, "InterPodAffinity")...)
			}),
			wantWarnings: []string{"profiles[0].plugins.score.enabled[0]: InterPodAffinity has no weight, so it weighs 1, not its default 2 (as in Kubernetes)"},
		},
		{
			name:    "disable and enable again: moves to the end",
			plugins: "    score:\n      disabled:\n      - name: TaintToleration\n      enabled:\n      - name: TaintToleration\n        weight: 10\n",
			want: withScore(func(s []weighted) []weighted {
				return append(without(s, "TaintToleration"), sw("TaintToleration", 10))
			}),
		},
		{
			name:    "disable at one point only",
			plugins: "    filter:\n      disabled:\n      - name: NodeRuntime\n      - name: TaintToleration\n",
			want:    defaultsWith(func(s *framework.PluginSet) { s.Filter = without(without(s.Filter, "NodeRuntime"), "TaintToleration") }),
		},
		{
			name:    "multiPoint reweighs a default in place",
			plugins: "    multiPoint:\n      enabled:\n      - name: NodeAffinity\n        weight: 7\n",
			want: withScore(func(s []weighted) []weighted {
				s[slices.IndexFunc(s, func(w weighted) bool { return w.Name == "NodeAffinity" })].Weight = 7
				return s
			}),
		},
		{
			name:    "multiPoint adds a plugin at the points it implements",
			plugins: "    multiPoint:\n      enabled:\n      - name: LeastAllocated\n        weight: 4\n",
			want:    withScore(func(s []weighted) []weighted { return append(s, sw("LeastAllocated", 4)) }),
		},
		{
			name:    "a point's entry overrides multiPoint's",
			plugins: "    multiPoint:\n      enabled:\n      - name: LeastAllocated\n        weight: 4\n    score:\n      enabled:\n      - name: LeastAllocated\n        weight: 9\n",
			want:    withScore(func(s []weighted) []weighted { return append([]weighted{sw("LeastAllocated", 9)}, s...) }),
		},
		{
			name:    "multiPoint replaces all defaults",
			plugins: "    multiPoint:\n      disabled:\n      - name: '*'\n      enabled:\n      - name: NodeResourcesFit\n        weight: 3\n      - name: NodeReady\n      - name: DefaultBinder\n",
			want: framework.PluginSet{
				PreFilter: []string{"NodeResourcesFit"},
				Filter:    []string{"NodeResourcesFit", "NodeReady"},
				Score:     []weighted{sw("NodeResourcesFit", 3)},
				Bind:      []string{"DefaultBinder"},
			},
		},
		{
			name:    "multiPoint disables a plugin everywhere",
			plugins: "    multiPoint:\n      disabled:\n      - name: VolumeBinding\n",
			want: defaultsWith(func(s *framework.PluginSet) {
				s.PreFilter, s.Filter, s.Score = without(s.PreFilter, "VolumeBinding"), without(s.Filter, "VolumeBinding"), without(s.Score, "VolumeBinding")
				s.Reserve, s.PreBind = nil, nil
			}),
		},
		{
			name:    "a point disables what multiPoint enables",
			plugins: "    multiPoint:\n      enabled:\n      - name: LeastAllocated\n    score:\n      disabled:\n      - name: LeastAllocated\n",
			want:    config.DefaultPlugins(),
		},
		{
			name:     "unknown plugin",
			plugins:  "    score:\n      enabled:\n      - name: NodeAffinity\n        weight: 2\n      - name: TaintToleration\n        weight: 3\n      - name: Foo\n",
			wantErrs: []string{`scheduler: profiles[0].plugins.score.enabled[2]: unknown plugin "Foo"`},
		},
		{
			name:     "unknown multiPoint plugin",
			plugins:  "    multiPoint:\n      enabled:\n      - name: Foo\n",
			wantErrs: []string{`scheduler: profiles[0].plugins.multiPoint.enabled[0]: unknown plugin "Foo"`},
		},
		{
			name:     "plugin at a point it does not implement",
			plugins:  "    score:\n      enabled:\n      - name: NodeReady\n    bind:\n      enabled:\n      - name: VolumeBinding\n",
			wantErrs: []string{`scheduler: profiles[0].plugins.score.enabled[0]: plugin "NodeReady" has no score extension point`, `scheduler: profiles[0].plugins.bind.enabled[0]: plugin "VolumeBinding" has no bind extension point`},
		},
		{
			name:    "Kubernetes plugins Kennel lacks",
			plugins: "    multiPoint:\n      enabled:\n      - name: NodePorts\n    queueSort:\n      enabled:\n      - name: PrioritySort\n    score:\n      enabled:\n      - name: ImageLocality\n        weight: 1\n      disabled:\n      - name: VolumeZone\n",
			want:    config.DefaultPlugins(),
			wantWarnings: []string{
				"profiles[0].plugins.queueSort.enabled[0]: PrioritySort is a Kubernetes plugin and Kennel has no queueSort extension point; ignored",
				"profiles[0].plugins.multiPoint.enabled[0]: NodePorts is a Kubernetes plugin Kennel does not have; ignored",
				"profiles[0].plugins.score.enabled[0]: ImageLocality is a Kubernetes plugin Kennel does not have; ignored",
			},
		},
		{
			name:    "preScore plugins do nothing",
			plugins: "    preScore:\n      enabled:\n      - name: InterPodAffinity\n      disabled:\n      - name: '*'\n",
			want:    config.DefaultPlugins(),
			wantWarnings: []string{
				"profiles[0].plugins.preScore.enabled[0]: InterPodAffinity: Kennel has no preScore extension point (its plugins prepare their scores in PreFilter); ignored",
			},
		},
		{
			name:         "disabling an unknown plugin",
			plugins:      "    filter:\n      disabled:\n      - name: Foo\n",
			want:         config.DefaultPlugins(),
			wantWarnings: []string{`profiles[0].plugins.filter.disabled[0]: unknown plugin "Foo"; nothing to disable`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := profile(t, tt.plugins)
			profiles, warnings, err := c.ResolveProfiles(known)
			checkErr(t, err, tt.wantErrs)
			if !reflect.DeepEqual(warnings, tt.wantWarnings) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(tt.wantWarnings, "\n"))
			}
			if err != nil {
				return
			}
			if got := profiles[0].Plugins; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plugins:\n%+v\nwant:\n%+v", got, tt.want)
			}
		})
	}
}

func TestResolveProfileAlone(t *testing.T) {
	t.Parallel()
	p := config.Profile{Plugins: &config.Plugins{Filter: config.PluginSet{Enabled: []config.Plugin{{Name: "Foo"}}}}}
	_, _, err := config.Resolve(p, known)
	if want := `scheduler: plugins.filter.enabled[0]: unknown plugin "Foo"`; err == nil || err.Error() != want {
		t.Errorf("Resolve = %v, want %s", err, want)
	}
	set, _, err := config.Resolve(config.Profile{}, known)
	if err != nil || !reflect.DeepEqual(set, config.DefaultPlugins()) {
		t.Errorf("Resolve(empty profile) = %+v, %v; want the defaults", set, err)
	}
}

func TestPluginArgsWarnings(t *testing.T) {
	t.Parallel()
	c, _, err := config.Parse([]byte(header + `profiles:
- plugins:
    filter:
      disabled:
      - name: InterPodAffinity
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
  - name: InterPodAffinity
    args: {hardPodAffinityWeight: 2}
  - name: DefaultPreemption
    args: {minCandidateNodesPercentage: 10}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, warnings, err := config.Resolve(c.Profiles[0], known)
	want := []string{`pluginConfig[2]: plugin "DefaultPreemption" does not run in this profile; its args are ignored`}
	if err != nil || !reflect.DeepEqual(warnings, want) {
		t.Errorf("Resolve = %v, warnings %q; want %q", err, warnings, want)
	}
	if got := string(c.Profiles[0].Args("InterPodAffinity")); got != `{"hardPodAffinityWeight":2}` {
		t.Errorf("Args(InterPodAffinity) = %s", got)
	}
}

func TestPercentageOfNodesToScore(t *testing.T) {
	t.Parallel()
	c, _, err := config.Parse([]byte(header + "percentageOfNodesToScore: 40\nprofiles:\n- schedulerName: a\n- schedulerName: b\n  percentageOfNodesToScore: 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	profiles, _, err := c.ResolveProfiles(known)
	if err != nil {
		t.Fatal(err)
	}
	if profiles[0].PercentageOfNodesToScore != 40 || profiles[1].PercentageOfNodesToScore != 0 {
		t.Errorf("percentages = %d, %d; want 40 (the configuration's), 0 (the profile's)",
			profiles[0].PercentageOfNodesToScore, profiles[1].PercentageOfNodesToScore)
	}
}

// filterScorer, binder and reserver implement extension points for
// ImplementsFrom; they are never run.
type filterScorer struct{}

func (filterScorer) Name() string { return "FilterScorer" }
func (filterScorer) Filter(context.Context, *framework.CycleState, *v1.Pod, *framework.NodeInfo) *framework.Status {
	return nil
}
func (filterScorer) Score(context.Context, *framework.CycleState, *v1.Pod, *framework.NodeInfo) (int64, *framework.Status) {
	return 0, nil
}

type binder struct{}

func (binder) Name() string { return "Binder" }
func (binder) Bind(context.Context, *framework.CycleState, *v1.Pod, string) *framework.Status {
	return nil
}

type reserver struct{}

func (reserver) Name() string { return "Reserver" }
func (reserver) PreFilter(context.Context, *framework.CycleState, *v1.Pod) *framework.Status {
	return nil
}
func (reserver) Reserve(context.Context, *framework.CycleState, *v1.Pod, string) *framework.Status {
	return nil
}
func (reserver) Unreserve(context.Context, *framework.CycleState, *v1.Pod, string) {}
func (reserver) PreBind(context.Context, *framework.CycleState, *v1.Pod, string) *framework.Status {
	return nil
}

func TestImplementsFrom(t *testing.T) {
	t.Parallel()
	implements := config.ImplementsFrom(map[string]framework.Plugin{
		"FilterScorer": filterScorer{}, "Binder": binder{}, "Reserver": reserver{},
	})
	for name, want := range map[string][]string{
		"FilterScorer": {config.PointFilter, config.PointScore},
		"Binder":       {config.PointBind},
		"Reserver":     {config.PointPreFilter, config.PointReserve, config.PointPreBind},
	} {
		if got, ok := implements(name); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("implements(%s) = %v, %v; want %v", name, got, ok, want)
		}
	}
	if _, ok := implements("Foo"); ok {
		t.Error("implements(Foo) is true")
	}
	// A profile resolves against the registry: Reserver, unknown to
	// KnownPlugins, is enabled where it implements.
	p := config.Profile{Plugins: &config.Plugins{MultiPoint: config.PluginSet{
		Disabled: []config.Plugin{{Name: "*"}},
		Enabled:  []config.Plugin{{Name: "Reserver"}, {Name: "Binder"}, {Name: "FilterScorer", Weight: ptrTo[int32](4)}},
	}}}
	set, warnings, err := config.Resolve(p, implements)
	want := framework.PluginSet{
		PreFilter: []string{"Reserver"}, Filter: []string{"FilterScorer"}, Score: []weighted{sw("FilterScorer", 4)},
		Reserve: []string{"Reserver"}, PreBind: []string{"Reserver"}, Bind: []string{"Binder"},
	}
	if err != nil || len(warnings) > 0 || !reflect.DeepEqual(set, want) {
		t.Errorf("Resolve = %+v, %q, %v; want %+v", set, warnings, err, want)
	}
}

func ptrTo[T any](v T) *T { return &v }
