package config

import (
	"github.com/kennel-dev/kennel/internal/scheduler/extender"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// DefaultPlugins are the plugins a profile runs at each extension point
// unless its configuration changes them, in order, with the score
// weights. They are the names the scheduler registers its plugins under;
// the weights are Kubernetes' where the plugin exists there.
func DefaultPlugins() framework.PluginSet {
	return framework.PluginSet{
		PreFilter: []string{"NodeResourcesFit", "VolumeBinding", "NetworkBandwidth", "InterPodAffinity", "PodTopologySpread"},
		Filter: []string{
			"NodeUnschedulable", "NodeReady", "NodeAffinity", "TaintToleration", "NodeRuntime",
			"VolumeBinding", "NodeResourcesFit", "NetworkBandwidth", "InterPodAffinity", "PodTopologySpread",
		},
		Score: []framework.WeightedPlugin{
			{Name: "TaintToleration", Weight: 3},
			{Name: "NodeAffinity", Weight: 2},
			{Name: "NodeResourcesFit", Weight: 1},
			{Name: "VolumeBinding", Weight: 1},
			{Name: "InterPodAffinity", Weight: 2},
			{Name: "PodTopologySpread", Weight: 2},
			{Name: "NodeResourcesBalancedAllocation", Weight: 1},
			{Name: "NetworkBandwidth", Weight: 1},
		},
		Reserve: []string{"VolumeBinding"},
		PreBind: []string{"VolumeBinding"},
		Bind:    []string{"DefaultBinder"},
	}
}

// KnownPlugins maps the name of each plugin Kennel's scheduler has to the
// extension points it implements (PointPreFilter, …), for checking a
// configuration without a running scheduler (kennel scheduler config
// --check). The scheduler itself resolves profiles against its registry.
func KnownPlugins() map[string][]string {
	all := []string{PointPreFilter, PointFilter, PointScore}
	return map[string][]string{
		"NodeUnschedulable":               {PointFilter},
		"NodeReady":                       {PointFilter},
		"NodeRuntime":                     {PointFilter},
		"NodeAffinity":                    {PointFilter, PointScore},
		"TaintToleration":                 {PointFilter, PointScore},
		"NodeResourcesFit":                all,
		"NetworkBandwidth":                all,
		"InterPodAffinity":                all,
		"PodTopologySpread":               all,
		"VolumeBinding":                   {PointPreFilter, PointFilter, PointScore, PointReserve, PointPreBind},
		"NodeResourcesBalancedAllocation": {PointScore},
		// LeastAllocated is deprecated: NodeResourcesFit scores the same.
		"LeastAllocated": {PointScore},
		"DefaultBinder":  {PointBind},
	}
}

// Default is the configuration Kennel runs without a file: one profile,
// default-scheduler, that names its plugins explicitly at each extension
// point (each point disables "*" and enables the defaults), so that it
// can be printed, edited and loaded back.
func Default() *Configuration {
	d := DefaultPlugins()
	score := make([]Plugin, len(d.Score))
	for i, w := range d.Score {
		score[i] = Plugin{Name: w.Name, Weight: ptr(int32(w.Weight))}
	}
	return &Configuration{
		APIVersion:               APIVersion,
		Kind:                     Kind,
		PercentageOfNodesToScore: ptr[int32](0),
		Profiles: []Profile{{
			SchedulerName: DefaultSchedulerName,
			Plugins: &Plugins{
				PreFilter: only(named(d.PreFilter)),
				Filter:    only(named(d.Filter)),
				Score:     only(score),
				Reserve:   only(named(d.Reserve)),
				PreBind:   only(named(d.PreBind)),
				Bind:      only(named(d.Bind)),
			},
		}},
		Extenders: []extender.Config{},
	}
}

// only is the set that replaces a point's defaults with plugins.
func only(plugins []Plugin) PluginSet {
	return PluginSet{Disabled: []Plugin{{Name: "*"}}, Enabled: plugins}
}

func named(names []string) []Plugin {
	out := make([]Plugin, len(names))
	for i, n := range names {
		out[i] = Plugin{Name: n}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// kubernetesOnly reports whether name is one of Kubernetes' in-tree
// plugins that Kennel does not have: a configuration that enables one is
// read with a warning, so that a Kubernetes configuration loads unchanged.
func kubernetesOnly(name string) bool {
	switch name {
	case "ImageLocality", "NodePorts", "NodeName", "VolumeRestrictions", "VolumeZone",
		"NodeVolumeLimits", "EBSLimits", "GCEPDLimits", "AzureDiskLimits", "CinderLimits",
		"PrioritySort", "DefaultPreemption", "SchedulingGates", "DynamicResources",
		"NodeDeclaredFeatures", "SelectorSpread":
		return true
	}
	return false
}

// ignoredField says why Kennel ignores a field of Kubernetes'
// KubeSchedulerConfiguration; ok is false for the fields it reads and for
// unknown ones.
func ignoredField(name string) (why string, ok bool) {
	switch name {
	case "leaderElection":
		return "the control plane elects its leader itself", true
	case "clientConnection":
		return "the scheduler runs inside the control plane", true
	case "parallelism":
		return "the scheduler's parallelism is not configurable", true
	case "podInitialBackoffSeconds", "podMaxBackoffSeconds":
		return "the scheduler's retry back-off is not configurable", true
	case "healthzBindAddress", "metricsBindAddress":
		return "the API server serves the control plane's /healthz and /metrics", true
	case "enableProfiling", "enableContentionProfiling":
		return "Kennel has no profiling endpoint", true
	case "featureGates", "delayCacheUntilActive":
		return "Kennel has no use for it", true
	}
	return "", false
}
