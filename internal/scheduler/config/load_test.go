package config_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kennel-dev/kennel/internal/scheduler/config"
)

const header = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		// wantErrs are lines the error must hold (none: no error).
		wantErrs []string
		// wantWarnings are the warnings, in order.
		wantWarnings []string
	}{
		{name: "minimal", file: header},
		{name: "json", file: `{"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration", "percentageOfNodesToScore": 30}`},
		{
			name:         "v1beta3 is read as v1",
			file:         "apiVersion: kubescheduler.config.k8s.io/v1beta3\nkind: KubeSchedulerConfiguration\n",
			wantWarnings: []string{"apiVersion: kubescheduler.config.k8s.io/v1beta3 is read as kubescheduler.config.k8s.io/v1, which has the same fields"},
		},
		{
			name:     "other apiVersion",
			file:     "apiVersion: kubescheduler.config.k8s.io/v1beta1\nkind: KubeSchedulerConfiguration\n",
			wantErrs: []string{`scheduler: apiVersion: must be kubescheduler.config.k8s.io/v1, got "kubescheduler.config.k8s.io/v1beta1"`},
		},
		{
			name:     "no apiVersion nor kind",
			file:     "profiles: []\n",
			wantErrs: []string{"scheduler: apiVersion: required: kubescheduler.config.k8s.io/v1", "scheduler: kind: required: KubeSchedulerConfiguration"},
		},
		{name: "wrong kind", file: "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeletConfiguration\n", wantErrs: []string{`scheduler: kind: must be KubeSchedulerConfiguration, got "KubeletConfiguration"`}},
		{name: "empty", file: "", wantErrs: []string{"scheduler: the configuration must be a KubeSchedulerConfiguration object, got nothing"}},
		{name: "not an object", file: "- a\n", wantErrs: []string{"scheduler: the configuration must be a KubeSchedulerConfiguration object, got a list"}},
		{name: "not YAML", file: "a: [\n", wantErrs: []string{"scheduler: "}},
		{
			name: "Kubernetes fields Kennel ignores",
			file: header + "leaderElection:\n  leaderElect: true\nclientConnection:\n  kubeconfig: /etc/kubernetes/scheduler.conf\nparallelism: 16\nenableProfiling: true\n",
			wantWarnings: []string{
				"clientConnection: ignored: the scheduler runs inside the control plane",
				"enableProfiling: ignored: Kennel has no profiling endpoint",
				"leaderElection: ignored: the control plane elects its leader itself",
				"parallelism: ignored: the scheduler's parallelism is not configurable",
			},
		},
		{
			name: "unknown fields are named by their path",
			file: header + "percentageOfNodes: 10\nprofiles:\n- schedulerName: a\n  plugins:\n    score:\n      enabled:\n      - name: NodeAffinity\n        wieght: 2\n    scoring: {}\nextenders:\n- urlPrefix: http://h\n  filterverb: f\n",
			wantErrs: []string{
				"scheduler: extenders[0].filterverb: unknown field",
				"scheduler: percentageOfNodes: unknown field",
				"scheduler: profiles[0].plugins.score.enabled[0].wieght: unknown field",
				"scheduler: profiles[0].plugins.scoring: unknown field",
			},
		},
		{
			name:     "wrong types are named by their path",
			file:     header + "percentageOfNodesToScore: half\nprofiles:\n- plugins:\n    filter:\n      enabled: NodeAffinity\n",
			wantErrs: []string{"scheduler: percentageOfNodesToScore: must be a number, got a string", "scheduler: profiles[0].plugins.filter.enabled: must be a list, got a string"},
		},
		{
			name: "percentages",
			file: header + "percentageOfNodesToScore: 101\nprofiles:\n- percentageOfNodesToScore: -1\n",
			wantErrs: []string{
				"scheduler: percentageOfNodesToScore: must be between 0 and 100, got 101",
				"scheduler: profiles[0].percentageOfNodesToScore: must be between 0 and 100, got -1",
			},
		},
		{
			name:     "duplicate schedulerName",
			file:     header + "profiles:\n- schedulerName: fast\n- schedulerName: fast\n",
			wantErrs: []string{`scheduler: profiles[1].schedulerName: "fast" is already profiles[0]'s`},
		},
		{
			name:     "an empty schedulerName is default-scheduler",
			file:     header + "profiles:\n- {}\n- schedulerName: default-scheduler\n",
			wantErrs: []string{`scheduler: profiles[1].schedulerName: "default-scheduler" is already profiles[0]'s`},
		},
		{
			name: "weights",
			file: header + "profiles:\n- plugins:\n    score:\n      enabled:\n      - name: NodeAffinity\n        weight: -1\n      - name: TaintToleration\n        weight: 101\n      - name: NodeResourcesFit\n        weight: 0\n      - name: VolumeBinding\n        weight: 100\n    multiPoint:\n      enabled:\n      - name: NodeResourcesFit\n        weight: 1000\n",
			wantErrs: []string{
				"scheduler: profiles[0].plugins.multiPoint.enabled[0].weight: must be between 1 and 100 (0 means 1), got 1000",
				"scheduler: profiles[0].plugins.score.enabled[0].weight: must be between 1 and 100 (0 means 1), got -1",
				"scheduler: profiles[0].plugins.score.enabled[1].weight: must be between 1 and 100 (0 means 1), got 101",
			},
		},
		{
			name: "plugin names",
			file: header + "profiles:\n- plugins:\n    filter:\n      enabled:\n      - name: NodeAffinity\n      - name: '*'\n      - name: NodeAffinity\n      - name: ''\n      disabled:\n      - name: ''\n",
			wantErrs: []string{
				`scheduler: profiles[0].plugins.filter.enabled[1].name: "*" may be disabled, not enabled`,
				`scheduler: profiles[0].plugins.filter.enabled[2]: plugin "NodeAffinity" is already enabled[0]`,
				"scheduler: profiles[0].plugins.filter.enabled[3].name: required",
				"scheduler: profiles[0].plugins.filter.disabled[0].name: required",
			},
		},
		{
			name: "points Kennel lacks",
			file: header + "profiles:\n- plugins:\n    permit:\n      enabled:\n      - name: Coscheduling\n    postBind:\n      enabled:\n      - name: Notify\n",
			wantErrs: []string{
				`scheduler: profiles[0].plugins.permit.enabled[0]: Kennel has no permit extension point (plugin "Coscheduling")`,
				`scheduler: profiles[0].plugins.postBind.enabled[0]: Kennel has no postBind extension point (plugin "Notify")`,
			},
		},
		{
			// Kubernetes' own plugins there are skipped (Resolve warns);
			// disabling is always fine.
			name: "Kubernetes plugins at points Kennel lacks",
			file: header + "profiles:\n- plugins:\n    queueSort:\n      enabled:\n      - name: PrioritySort\n    postFilter:\n      enabled:\n      - name: DefaultPreemption\n      disabled:\n      - name: '*'\n    permit:\n      disabled:\n      - name: Coscheduling\n",
		},
		{
			name: "pluginConfig",
			file: header + "profiles:\n- pluginConfig:\n  - name: NodeResourcesFit\n    args: {}\n  - name: NodeResourcesFit\n  - args: [1]\n",
			wantErrs: []string{
				`scheduler: profiles[0].pluginConfig[1].name: "NodeResourcesFit" already has arguments in pluginConfig[0]`,
				"scheduler: profiles[0].pluginConfig[2].name: required",
				"scheduler: profiles[0].pluginConfig[2].args: must be an object",
			},
		},
		{
			name: "extenders",
			file: header + "extenders:\n- urlPrefix: ftp://h\n- urlPrefix: http://a\n  bindVerb: bind\n- urlPrefix: http://b\n  bindVerb: bind\n",
			wantErrs: []string{
				`scheduler: extenders[0].urlPrefix: must be an http or https URL, got "ftp://h"`,
				"scheduler: extenders: at most one extender may set bindVerb, found 2 (extenders[1], extenders[2])",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, warnings, err := config.Parse([]byte(tt.file))
			checkErr(t, err, tt.wantErrs)
			if len(tt.wantErrs) == 0 && c == nil {
				t.Fatal("Parse returned no configuration and no error")
			}
			if !reflect.DeepEqual(warnings, tt.wantWarnings) {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(tt.wantWarnings, "\n"))
			}
		})
	}
}

// checkErr checks that err holds every line of want, and nothing else
// when want names lines; no error when want is empty.
func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	switch {
	case len(want) == 0 && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case len(want) > 0 && err == nil:
		t.Fatalf("no error, want:\n%s", strings.Join(want, "\n"))
	case err == nil:
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not hold %q:\n%v", w, err)
		}
	}
	if lines := strings.Split(err.Error(), "\n"); len(want) > 1 && len(lines) != len(want) {
		t.Errorf("error has %d lines, want %d:\n%v", len(lines), len(want), err)
	}
}

func TestParseFillsDefaults(t *testing.T) {
	t.Parallel()
	c, _, err := config.Parse([]byte(header))
	if err != nil {
		t.Fatal(err)
	}
	want := []config.Profile{{SchedulerName: config.DefaultSchedulerName}}
	if !reflect.DeepEqual(c.Profiles, want) {
		t.Errorf("profiles = %+v, want %+v", c.Profiles, want)
	}
	c, _, err = config.Parse([]byte(header + "profiles:\n- schedulerName: fast\n- plugins: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Profiles[0].SchedulerName != "fast" || c.Profiles[1].SchedulerName != config.DefaultSchedulerName {
		t.Errorf("schedulerNames = %q, %q; want fast, default-scheduler", c.Profiles[0].SchedulerName, c.Profiles[1].SchedulerName)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "none.yaml")
	_, _, err := config.Load(path)
	if err == nil || !strings.Contains(err.Error(), "scheduler: reading the configuration: ") || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(missing) = %v, want an error naming %s", err, path)
	}
}

// The printed defaults name every plugin and weight, load back, and
// resolve to exactly the default plugins.
func TestDefaultsRoundTrip(t *testing.T) {
	t.Parallel()
	y, err := config.Default().YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\npercentageOfNodesToScore: 0\n",
		"- schedulerName: default-scheduler\n",
		"    score:\n      disabled:\n      - name: '*'\n      enabled:\n      - name: TaintToleration\n        weight: 3\n      - name: NodeAffinity\n        weight: 2\n",
		"    bind:\n      disabled:\n      - name: '*'\n      enabled:\n      - name: DefaultBinder\n",
		"extenders: []\n",
	} {
		if !strings.Contains(string(y), w) {
			t.Errorf("defaults YAML does not hold\n%s\n---\n%s", w, y)
		}
	}
	c, warnings, err := config.Parse(y)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Parse(defaults) = %v, warnings %q", err, warnings)
	}
	if !reflect.DeepEqual(c, config.Default()) {
		t.Errorf("Parse(defaults) = %+v, want Default()", c)
	}
	set, warnings, err := config.Resolve(c.Profiles[0], known)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Resolve(defaults) = %v, warnings %q", err, warnings)
	}
	if want := config.DefaultPlugins(); !reflect.DeepEqual(set, want) {
		t.Errorf("Resolve(defaults) =\n%+v\nwant\n%+v", set, want)
	}
	again, err := c.YAML()
	if err != nil || string(again) != string(y) {
		t.Errorf("YAML of the loaded defaults differs (%v):\n%s\nwant\n%s", err, again, y)
	}
}

// Every default plugin is known, at the points where it is a default.
func TestDefaultPluginsAreKnown(t *testing.T) {
	t.Parallel()
	d := config.DefaultPlugins()
	byPoint := map[string][]string{
		config.PointPreFilter: d.PreFilter, config.PointFilter: d.Filter,
		config.PointReserve: d.Reserve, config.PointPreBind: d.PreBind, config.PointBind: d.Bind,
	}
	for _, w := range d.Score {
		byPoint[config.PointScore] = append(byPoint[config.PointScore], w.Name)
	}
	for point, names := range byPoint {
		for _, n := range names {
			points, ok := known(n)
			if !ok || !contains(points, point) {
				t.Errorf("default %s plugin %s: KnownPlugins has %v", point, n, points)
			}
		}
	}
}
