package config

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kennel-dev/kennel/internal/scheduler/extender"
)

// Validate checks c without side effects and returns every problem,
// joined, each naming its field: the apiVersion and kind, the
// percentages, unique schedulerNames, the plugin lists (weights, points
// Kennel lacks), unique pluginConfig entries, and the extenders. Whether
// the named plugins exist is Resolve's to check, against the scheduler's
// registry.
func (c *Configuration) Validate() error {
	var errs []error
	switch c.APIVersion {
	case APIVersion, apiVersionV1beta3:
	case "":
		errs = append(errs, fmt.Errorf("scheduler: apiVersion: required: %s", APIVersion))
	default:
		errs = append(errs, fmt.Errorf("scheduler: apiVersion: must be %s, got %q", APIVersion, c.APIVersion))
	}
	switch c.Kind {
	case Kind:
	case "":
		errs = append(errs, fmt.Errorf("scheduler: kind: required: %s", Kind))
	default:
		errs = append(errs, fmt.Errorf("scheduler: kind: must be %s, got %q", Kind, c.Kind))
	}
	errs = append(errs, checkPercentage("percentageOfNodesToScore", c.PercentageOfNodesToScore)...)
	byName := map[string]int{}
	for i, p := range c.Profiles {
		path := fmt.Sprintf("profiles[%d]", i)
		if j, dup := byName[p.name()]; dup {
			errs = append(errs, fmt.Errorf("scheduler: %s.schedulerName: %q is already profiles[%d]'s", path, p.name(), j))
		} else {
			byName[p.name()] = i
		}
		errs = append(errs, p.validate(path)...)
	}
	if err := extender.ValidateAll(c.Extenders); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validate checks one profile, named path in the errors.
func (p Profile) validate(path string) []error {
	errs := checkPercentage(join(path, "percentageOfNodesToScore"), p.PercentageOfNodesToScore)
	if p.Plugins != nil {
		for _, s := range p.Plugins.sets() {
			errs = append(errs, s.validate(join(path, "plugins"))...)
		}
	}
	seen := map[string]int{}
	for i, pc := range p.PluginConfig {
		field := join(path, fmt.Sprintf("pluginConfig[%d]", i))
		if pc.Name == "" {
			errs = append(errs, fmt.Errorf("scheduler: %s.name: required", field))
		} else if j, dup := seen[pc.Name]; dup {
			errs = append(errs, fmt.Errorf("scheduler: %s.name: %q already has arguments in pluginConfig[%d]", field, pc.Name, j))
		} else {
			seen[pc.Name] = i
		}
		if len(pc.Args) > 0 && !isObjectOrNull(pc.Args) {
			errs = append(errs, fmt.Errorf("scheduler: %s.args: must be an object", field))
		}
	}
	return errs
}

func isObjectOrNull(raw json.RawMessage) bool {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	_, ok := v.(map[string]any)
	return ok || v == nil
}

func checkPercentage(field string, v *int32) []error {
	if v != nil && (*v < 0 || *v > 100) {
		return []error{fmt.Errorf("scheduler: %s: must be between 0 and 100, got %d", field, *v)}
	}
	return nil
}

// pointSet is one extension point's PluginSet with its JSON name and
// Kennel's point ("" for multiPoint, preScore and the points Kennel
// lacks).
type pointSet struct {
	field string
	point string
	PluginSet
}

// sets lists every extension point of p in pipeline order.
func (p *Plugins) sets() []pointSet {
	return []pointSet{
		{"multiPoint", "", p.MultiPoint},
		{"preEnqueue", "", p.PreEnqueue},
		{"queueSort", "", p.QueueSort},
		{"preFilter", PointPreFilter, p.PreFilter},
		{"filter", PointFilter, p.Filter},
		{"postFilter", "", p.PostFilter},
		{"preScore", "", p.PreScore},
		{"score", PointScore, p.Score},
		{"reserve", PointReserve, p.Reserve},
		{"permit", "", p.Permit},
		{"preBind", PointPreBind, p.PreBind},
		{"bind", PointBind, p.Bind},
		{"postBind", "", p.PostBind},
	}
}

// missing reports whether Kennel lacks the point altogether: plugins may
// be disabled there, not enabled (preScore plugins do nothing).
func (s pointSet) missing() bool {
	return s.point == "" && s.field != "multiPoint" && s.field != "preScore"
}

// validate checks the names and weights of s, under path.
func (s pointSet) validate(path string) []error {
	var errs []error
	seen := map[string]int{}
	for i, pl := range s.Enabled {
		field := fmt.Sprintf("%s.%s.enabled[%d]", path, s.field, i)
		switch j, dup := seen[pl.Name]; {
		case pl.Name == "":
			errs = append(errs, fmt.Errorf("scheduler: %s.name: required", field))
		case pl.Name == "*":
			errs = append(errs, fmt.Errorf("scheduler: %s.name: \"*\" may be disabled, not enabled", field))
		case dup:
			errs = append(errs, fmt.Errorf("scheduler: %s: plugin %q is already enabled[%d]", field, pl.Name, j))
		case s.missing() && !kubernetesOnly(pl.Name):
			errs = append(errs, fmt.Errorf("scheduler: %s: Kennel has no %s extension point (plugin %q)", field, s.field, pl.Name))
		}
		if _, dup := seen[pl.Name]; !dup {
			seen[pl.Name] = i
		}
		if w := pl.Weight; w != nil && (*w < 0 || *w > MaxWeight) {
			errs = append(errs, fmt.Errorf("scheduler: %s.weight: must be between 1 and %d (0 means 1), got %d", field, MaxWeight, *w))
		}
	}
	for i, pl := range s.Disabled {
		if pl.Name == "" {
			errs = append(errs, fmt.Errorf("scheduler: %s.%s.disabled[%d].name: required", path, s.field, i))
		}
	}
	return errs
}
