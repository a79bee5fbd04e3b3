package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/config"
	"github.com/kennel-dev/kennel/internal/scheduler/extender"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
	"github.com/kennel-dev/kennel/internal/scheduler/plugins"
)

// Handle is what a plugin may be built over: the scheduler's listers of
// volumes and its writer of claims.
type Handle struct {
	Volumes plugins.VolumeListers
	Claims  plugins.ClaimWriter
}

// PluginFactory builds a plugin from its pluginConfig args (nil when the
// configuration gives none).
type PluginFactory func(args json.RawMessage, h Handle) (framework.Plugin, error)

// Registry is every plugin a configuration may name, by name.
func Registry() map[string]PluginFactory {
	return map[string]PluginFactory{
		plugins.NodeUnschedulableName: noArgs(plugins.NodeUnschedulable{}),
		plugins.NodeReadyName:         noArgs(plugins.NodeReady{}),
		plugins.NodeAffinityName:      noArgs(plugins.NodeAffinity{}),
		plugins.TaintTolerationName:   noArgs(plugins.TaintToleration{}),
		plugins.NodeRuntimeName:       noArgs(plugins.NodeRuntime{}),
		plugins.VolumeBindingName: func(args json.RawMessage, h Handle) (framework.Plugin, error) {
			// Kubernetes' VolumeBindingArgs: the bind timeout has no
			// meaning here (PreBind writes the selected node and returns).
			var a struct {
				BindTimeoutSeconds *int64 `json:"bindTimeoutSeconds,omitempty"`
			}
			if err := plugins.DecodeArgs(plugins.VolumeBindingName, "VolumeBindingArgs", args, &a); err != nil {
				return nil, err
			}
			return plugins.NewVolumeBinding(h.Volumes, h.Claims), nil
		},
		plugins.NodeResourcesFitName: func(args json.RawMessage, _ Handle) (framework.Plugin, error) {
			return plugins.NewNodeResourcesFit(args)
		},
		plugins.BalancedAllocationName: func(args json.RawMessage, _ Handle) (framework.Plugin, error) {
			return plugins.NewBalancedAllocation(args)
		},
		plugins.NetworkBandwidthName: func(args json.RawMessage, _ Handle) (framework.Plugin, error) {
			return plugins.NewNetworkBandwidth(args)
		},
		plugins.InterPodAffinityName: func(args json.RawMessage, _ Handle) (framework.Plugin, error) {
			return plugins.NewInterPodAffinity(args)
		},
		plugins.PodTopologySpreadName: func(args json.RawMessage, _ Handle) (framework.Plugin, error) {
			return plugins.NewPodTopologySpread(args)
		},
		DefaultBinderName: noArgs(DefaultBinder{}),
	}
}

// noArgs is the factory of a plugin that takes no arguments: args, when
// given, may hold only Kubernetes' apiVersion and kind.
func noArgs(p framework.Plugin) PluginFactory {
	return func(args json.RawMessage, _ Handle) (framework.Plugin, error) {
		if err := plugins.DecodeArgs(p.Name(), p.Name()+"Args", args, &struct{}{}); err != nil {
			return nil, err
		}
		return p, nil
	}
}

// DefaultBinderName is the name Kubernetes configurations give the
// binding the scheduler writes itself.
const DefaultBinderName = "DefaultBinder"

// DefaultBinder is the scheduler's own binding (a conditional update of
// the pod's spec.nodeName) as a Bind plugin: it skips, and the scheduler
// writes the binding.
type DefaultBinder struct{}

// Name is DefaultBinderName.
func (DefaultBinder) Name() string { return DefaultBinderName }

// Bind leaves the binding to the scheduler.
func (DefaultBinder) Bind(context.Context, *framework.CycleState, *v1.Pod, string) *framework.Status {
	return framework.NewStatus(framework.Skip)
}

// BuildProfile builds the pipeline of one configured profile: every
// registered plugin with its args, the extension points the profile
// enables, and its extenders. It returns the configuration's warnings
// (Kubernetes plugins Kennel does not have, ignored).
func BuildProfile(p config.Profile, percentage int, extenders []extender.Config, h Handle) (*framework.Profile, []string, error) {
	reg := Registry()
	for _, pc := range p.PluginConfig {
		if _, ok := reg[pc.Name]; !ok {
			return nil, nil, fmt.Errorf("scheduler: profile %q: pluginConfig: no plugin named %q", p.SchedulerName, pc.Name)
		}
	}
	names := make([]string, 0, len(reg))
	for name := range reg {
		names = append(names, name)
	}
	sort.Strings(names)
	built := make(map[string]framework.Plugin, len(reg))
	for _, name := range names {
		pl, err := reg[name](p.Args(name), h)
		if err != nil {
			return nil, nil, fmt.Errorf("scheduler: profile %q: %w", p.SchedulerName, err)
		}
		built[name] = pl
	}
	set, warnings, err := config.Resolve(p, config.ImplementsFrom(built))
	if err != nil {
		return nil, warnings, err
	}
	exts := make([]framework.Extender, 0, len(extenders))
	for _, ec := range extenders {
		e, err := extender.New(ec)
		if err != nil {
			return nil, warnings, err
		}
		exts = append(exts, e)
	}
	prof, err := framework.NewProfileFromSet(built, set, framework.ProfileOptions{Extenders: exts, PercentageOfNodesToScore: percentage})
	return prof, warnings, err
}

// CheckConfiguration builds every profile of c as the control plane would
// (plugins with their args, extenders), without starting anything, so a
// mistake is reported when the file is given rather than when this
// control plane becomes leader. It returns the configuration's warnings.
func CheckConfiguration(c *config.Configuration) ([]string, error) {
	var warnings []string
	pct := 0
	if c.PercentageOfNodesToScore != nil {
		pct = int(*c.PercentageOfNodesToScore)
	}
	for i, p := range c.Profiles {
		ppct := pct
		if p.PercentageOfNodesToScore != nil {
			ppct = int(*p.PercentageOfNodesToScore)
		}
		_, w, err := BuildProfile(p, ppct, c.Extenders, Handle{})
		warnings = append(warnings, w...)
		if err != nil {
			return warnings, fmt.Errorf("profiles[%d] (%s): %w", i, p.SchedulerName, err)
		}
	}
	return warnings, nil
}
