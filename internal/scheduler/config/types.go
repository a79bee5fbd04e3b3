package config

import (
	"encoding/json"

	"github.com/kennel-dev/kennel/internal/scheduler/extender"
)

// The apiVersion and kind a configuration file declares, as in
// Kubernetes.
const (
	APIVersion = "kubescheduler.config.k8s.io/v1"
	Kind       = "KubeSchedulerConfiguration"
	// apiVersionV1beta3 is read as APIVersion, with a warning: Kubernetes
	// turned it into v1 without changing the fields Kennel reads.
	apiVersionV1beta3 = "kubescheduler.config.k8s.io/v1beta3"
)

// DefaultSchedulerName names the profile of pods whose spec.schedulerName
// is empty, and a profile whose schedulerName is empty.
const DefaultSchedulerName = "default-scheduler"

// The extension points Kennel's scheduler has, as the implements function
// of Resolve names them.
const (
	PointPreFilter = "PreFilter"
	PointFilter    = "Filter"
	PointScore     = "Score"
	PointReserve   = "Reserve"
	PointPreBind   = "PreBind"
	PointBind      = "Bind"
)

// MaxWeight bounds a score weight. A score plugin enabled without a
// weight, or with weight 0 (as Kubernetes writes its defaults out), weighs
// 1, as in Kubernetes.
const MaxWeight = 100

// Configuration is a scheduler configuration file: Kubernetes'
// KubeSchedulerConfiguration, with the fields Kennel uses. Parse and Load
// fill its defaults; Validate checks it.
type Configuration struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// PercentageOfNodesToScore is how many of the nodes, in percent, a
	// scheduling cycle filters once it has found enough feasible ones
	// (0 or nil: adaptive, 100: all); a profile may override it. See
	// framework.ProfileOptions.
	PercentageOfNodesToScore *int32 `json:"percentageOfNodesToScore,omitempty"`
	// Profiles: one scheduling pipeline per schedulerName.
	Profiles []Profile `json:"profiles,omitempty"`
	// Extenders are HTTP services every profile consults after its
	// filters and scorers, in order.
	Extenders []extender.Config `json:"extenders"`
}

// Profile is one scheduling pipeline, used by the pods whose
// spec.schedulerName is its SchedulerName.
type Profile struct {
	// SchedulerName names the profile; empty means DefaultSchedulerName.
	SchedulerName string `json:"schedulerName,omitempty"`
	// PercentageOfNodesToScore, when set, overrides the configuration's.
	PercentageOfNodesToScore *int32 `json:"percentageOfNodesToScore,omitempty"`
	// Plugins changes Kennel's default plugins; nil keeps them.
	Plugins *Plugins `json:"plugins,omitempty"`
	// PluginConfig holds plugins' arguments, at most one entry a plugin.
	PluginConfig []PluginConfig `json:"pluginConfig,omitempty"`
}

// Plugins changes the plugins of each extension point, Kubernetes' way:
// each point starts from Kennel's defaults, loses the disabled ones and
// gains the enabled ones (see Resolve). MultiPoint enables a plugin at
// every point it implements. Kennel has the PreFilter, Filter, Score,
// Reserve, PreBind and Bind points; PreScore plugins are accepted and do
// nothing (Kennel's plugins prepare their scores in PreFilter); plugins
// may be disabled, not enabled, at the other points.
type Plugins struct {
	MultiPoint PluginSet `json:"multiPoint,omitzero"`
	PreEnqueue PluginSet `json:"preEnqueue,omitzero"`
	QueueSort  PluginSet `json:"queueSort,omitzero"`
	PreFilter  PluginSet `json:"preFilter,omitzero"`
	Filter     PluginSet `json:"filter,omitzero"`
	PostFilter PluginSet `json:"postFilter,omitzero"`
	PreScore   PluginSet `json:"preScore,omitzero"`
	Score      PluginSet `json:"score,omitzero"`
	Reserve    PluginSet `json:"reserve,omitzero"`
	Permit     PluginSet `json:"permit,omitzero"`
	PreBind    PluginSet `json:"preBind,omitzero"`
	Bind       PluginSet `json:"bind,omitzero"`
	PostBind   PluginSet `json:"postBind,omitzero"`
}

// PluginSet changes the plugins of one extension point.
type PluginSet struct {
	// Disabled removes default plugins by name; "*" removes them all.
	Disabled []Plugin `json:"disabled,omitempty"`
	// Enabled adds plugins after the defaults, in order. A default
	// plugin enabled again takes the new weight and, as in Kubernetes,
	// moves ahead of the other defaults (at MultiPoint: keeps its place).
	Enabled []Plugin `json:"enabled,omitempty"`
}

// Plugin names a plugin and, at the Score and MultiPoint points, its
// weight.
type Plugin struct {
	Name string `json:"name"`
	// Weight multiplies the plugin's scores: 1..MaxWeight; nil or 0
	// means 1.
	Weight *int32 `json:"weight,omitempty"`
}

// PluginConfig holds one plugin's arguments.
type PluginConfig struct {
	Name string `json:"name"`
	// Args is the plugin's arguments object, as written; the plugin's
	// constructor decodes and checks it.
	Args json.RawMessage `json:"args,omitempty"`
}

// Args returns the arguments the profile gives the plugin name, nil when
// it gives none.
func (p Profile) Args(name string) json.RawMessage {
	for _, pc := range p.PluginConfig {
		if pc.Name == name {
			return pc.Args
		}
	}
	return nil
}

// name is the profile's schedulerName, DefaultSchedulerName when empty.
func (p Profile) name() string {
	if p.SchedulerName == "" {
		return DefaultSchedulerName
	}
	return p.SchedulerName
}
