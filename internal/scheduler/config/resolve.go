package config

import (
	"errors"
	"fmt"
	"slices"

	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// ResolvedProfile is a profile ready for framework.NewProfileFromSet.
type ResolvedProfile struct {
	SchedulerName string
	// Plugins are the plugins at each extension point, merged with the
	// defaults.
	Plugins framework.PluginSet
	// PercentageOfNodesToScore is the profile's, else the
	// configuration's, else 0 (adaptive).
	PercentageOfNodesToScore int
	// Profile is the profile as configured, for Profile.Args.
	Profile Profile
}

// ResolveProfiles resolves every profile of c with Resolve; the errors
// and warnings name each profile by its index (profiles[1].plugins…).
func (c *Configuration) ResolveProfiles(implements func(name string) ([]string, bool)) ([]ResolvedProfile, []string, error) {
	var out []ResolvedProfile
	var warnings []string
	var errs []error
	for i, p := range c.Profiles {
		set, w, err := resolve(fmt.Sprintf("profiles[%d]", i), p, implements)
		warnings = append(warnings, w...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pct := 0
		switch {
		case p.PercentageOfNodesToScore != nil:
			pct = int(*p.PercentageOfNodesToScore)
		case c.PercentageOfNodesToScore != nil:
			pct = int(*c.PercentageOfNodesToScore)
		}
		out = append(out, ResolvedProfile{SchedulerName: p.name(), Plugins: set, PercentageOfNodesToScore: pct, Profile: p})
	}
	if len(errs) > 0 {
		return nil, warnings, errors.Join(errs...)
	}
	return out, warnings, nil
}

// Resolve merges a profile's plugins with Kennel's defaults as
// Kubernetes does, for each of Kennel's extension points:
//
//   - the defaults (DefaultPlugins) lose the plugins multiPoint disables
//     ("*": all of them); a default that multiPoint enables takes
//     multiPoint's weight in its place, the other multiPoint plugins
//     follow, each at the points it implements;
//   - the point's own disabled list removes plugins from that ("*":
//     everything, leaving only the point's enabled list);
//   - the point's enabled list overrides multiPoint: a plugin in both
//     moves to the front with the point's weight, the others are
//     appended.
//
// A score plugin without a weight (or with 0) weighs 1. implements returns the
// Kennel points (PointPreFilter, …) the named plugin implements, and
// false when the scheduler has no such plugin. Kubernetes' own plugins
// that Kennel lacks (ImageLocality, …) are skipped with a warning; any
// other unknown plugin, or a plugin enabled at a point it does not
// implement, is an error naming the field.
func Resolve(p Profile, implements func(name string) ([]string, bool)) (framework.PluginSet, []string, error) {
	return resolve("", p, implements)
}

// ImplementsFrom is the implements function of Resolve for a registry of
// plugins by name.
func ImplementsFrom(plugins map[string]framework.Plugin) func(name string) ([]string, bool) {
	return func(name string) ([]string, bool) {
		p, ok := plugins[name]
		if !ok {
			return nil, false
		}
		return PointsOf(p), true
	}
}

// PointsOf lists the extension points p implements.
func PointsOf(p framework.Plugin) []string {
	var out []string
	if _, ok := p.(framework.PreFilterPlugin); ok {
		out = append(out, PointPreFilter)
	}
	if _, ok := p.(framework.FilterPlugin); ok {
		out = append(out, PointFilter)
	}
	if _, ok := p.(framework.ScorePlugin); ok {
		out = append(out, PointScore)
	}
	if _, ok := p.(framework.ReservePlugin); ok {
		out = append(out, PointReserve)
	}
	if _, ok := p.(framework.PreBindPlugin); ok {
		out = append(out, PointPreBind)
	}
	if _, ok := p.(framework.BindPlugin); ok {
		out = append(out, PointBind)
	}
	return out
}

// resolver collects a profile's warnings and errors; path names the
// profile's plugins field.
type resolver struct {
	implements func(string) ([]string, bool)
	path       string
	warnings   []string
	errs       []error
}

func (r *resolver) warn(format string, args ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

func (r *resolver) fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("scheduler: "+format, args...))
}

// multiPointPlugin is a plugin multiPoint enables, with its points.
type multiPointPlugin struct {
	Plugin
	points []string
}

func resolve(path string, p Profile, implements func(string) ([]string, bool)) (framework.PluginSet, []string, error) {
	if errs := p.validate(path); len(errs) > 0 {
		return framework.PluginSet{}, nil, errors.Join(errs...)
	}
	r := &resolver{implements: implements, path: join(path, "plugins")}
	plugins := p.Plugins
	if plugins == nil {
		plugins = &Plugins{}
	}
	r.checkUnused(plugins)
	mp := r.multiPoint(plugins.MultiPoint)
	mpDisabled := names(plugins.MultiPoint.Disabled)
	defaults := DefaultPlugins()
	var set framework.PluginSet
	for _, s := range plugins.sets() {
		if s.point == "" {
			continue
		}
		merged := r.point(s, defaultsAt(defaults, s.point), mp, mpDisabled)
		switch s.point {
		case PointPreFilter:
			set.PreFilter = pluginNames(merged)
		case PointFilter:
			set.Filter = pluginNames(merged)
		case PointScore:
			for _, pl := range merged {
				set.Score = append(set.Score, framework.WeightedPlugin{Name: pl.Name, Weight: weight(pl)})
			}
		case PointReserve:
			set.Reserve = pluginNames(merged)
		case PointPreBind:
			set.PreBind = pluginNames(merged)
		case PointBind:
			set.Bind = pluginNames(merged)
		}
	}
	r.checkArgs(path, p, set)
	if len(r.errs) > 0 {
		return framework.PluginSet{}, r.warnings, errors.Join(r.errs...)
	}
	return set, r.warnings, nil
}

// known returns the points of the plugin enabled at field; a Kubernetes
// plugin Kennel lacks is a warning, any other unknown name an error.
func (r *resolver) known(field, name string) ([]string, bool) {
	if points, ok := r.implements(name); ok {
		return points, true
	}
	if kubernetesOnly(name) {
		r.warn("%s: %s is a Kubernetes plugin Kennel does not have; ignored", field, name)
	} else {
		r.fail("%s: unknown plugin %q", field, name)
	}
	return nil, false
}

// multiPoint returns the plugins multiPoint enables that Kennel has.
func (r *resolver) multiPoint(s PluginSet) []multiPointPlugin {
	var out []multiPointPlugin
	for i, pl := range s.Enabled {
		field := fmt.Sprintf("%s.multiPoint.enabled[%d]", r.path, i)
		points, ok := r.known(field, pl.Name)
		switch {
		case !ok:
		case len(points) == 0:
			r.fail("%s: plugin %q implements none of Kennel's extension points", field, pl.Name)
		default:
			out = append(out, multiPointPlugin{Plugin: pl, points: points})
		}
	}
	return out
}

// point merges the plugins of one of Kennel's extension points.
func (r *resolver) point(s pointSet, defaults []Plugin, mp []multiPointPlugin, mpDisabled map[string]bool) []Plugin {
	var specific []Plugin
	for i, pl := range s.Enabled {
		field := fmt.Sprintf("%s.%s.enabled[%d]", r.path, s.field, i)
		points, ok := r.known(field, pl.Name)
		if !ok {
			continue
		}
		if !slices.Contains(points, s.point) {
			r.fail("%s: plugin %q has no %s extension point", field, pl.Name, s.field)
			continue
		}
		specific = append(specific, pl)
		if d := slices.IndexFunc(defaults, func(e Plugin) bool { return e.Name == pl.Name }); s.point == PointScore && d >= 0 && unweighted(pl) && weight(defaults[d]) != 1 {
			r.warn("%s: %s has no weight, so it weighs 1, not its default %d (as in Kubernetes)", field, pl.Name, weight(defaults[d]))
		}
	}
	var here []Plugin
	for _, m := range mp {
		if slices.Contains(m.points, s.point) {
			here = append(here, m.Plugin)
		}
	}
	return expand(mergeSet(defaults, here, mpDisabled), specific, names(s.Disabled))
}

// mergeSet is Kubernetes' mergePluginSet: defaults without the disabled
// ones (all, for "*"), each enabled default replaced in place by its
// enabled entry, then the other enabled plugins.
func mergeSet(defaults, enabled []Plugin, disabled map[string]bool) []Plugin {
	var out []Plugin
	replaced := map[int]bool{}
	if !disabled["*"] {
		for _, d := range defaults {
			if disabled[d.Name] {
				continue
			}
			if i := slices.IndexFunc(enabled, func(e Plugin) bool { return e.Name == d.Name }); i >= 0 {
				d, replaced[i] = enabled[i], true
			}
			out = append(out, d)
		}
	}
	for i, e := range enabled {
		if !replaced[i] {
			out = append(out, e)
		}
	}
	return out
}

// expand is how Kubernetes' framework combines a point's own plugins
// with multiPoint's (merged): with "*" disabled only the point's own
// count; otherwise the point's own plugins that multiPoint also has come
// first, then multiPoint's others (less the disabled ones), then the
// point's remaining own plugins.
func expand(merged, specific []Plugin, disabled map[string]bool) []Plugin {
	if disabled["*"] {
		return specific
	}
	own := names(specific)
	overrides := map[string]bool{}
	var fromMerged []Plugin
	for _, pl := range merged {
		switch {
		case disabled[pl.Name]:
		case own[pl.Name]:
			overrides[pl.Name] = true
		default:
			fromMerged = append(fromMerged, pl)
		}
	}
	var out, rest []Plugin
	for _, pl := range specific {
		if overrides[pl.Name] {
			out = append(out, pl)
		} else {
			rest = append(rest, pl)
		}
	}
	out = append(out, fromMerged...)
	return append(out, rest...)
}

// checkUnused reports what the profile sets that Kennel does not run:
// preScore plugins, Kubernetes plugins at points Kennel lacks, and
// disabled plugins that do not exist.
func (r *resolver) checkUnused(plugins *Plugins) {
	for _, s := range plugins.sets() {
		for i, pl := range s.Enabled {
			field := fmt.Sprintf("%s.%s.enabled[%d]", r.path, s.field, i)
			switch {
			case s.field == "preScore":
				if _, ok := r.known(field, pl.Name); ok {
					r.warn("%s: %s: Kennel has no preScore extension point (its plugins prepare their scores in PreFilter); ignored", field, pl.Name)
				}
			case s.missing():
				r.warn("%s: %s is a Kubernetes plugin and Kennel has no %s extension point; ignored", field, pl.Name, s.field)
			}
		}
		for i, pl := range s.Disabled {
			if _, ok := r.implements(pl.Name); !ok && pl.Name != "*" && !kubernetesOnly(pl.Name) {
				r.warn("%s.%s.disabled[%d]: unknown plugin %q; nothing to disable", r.path, s.field, i, pl.Name)
			}
		}
	}
}

// checkArgs warns about arguments given to plugins the profile does not
// run.
func (r *resolver) checkArgs(path string, p Profile, set framework.PluginSet) {
	used := map[string]bool{}
	for _, list := range [][]string{set.PreFilter, set.Filter, set.Reserve, set.PreBind, set.Bind} {
		for _, n := range list {
			used[n] = true
		}
	}
	for _, w := range set.Score {
		used[w.Name] = true
	}
	for i, pc := range p.PluginConfig {
		if !used[pc.Name] {
			r.warn("%s: plugin %q does not run in this profile; its args are ignored", join(path, fmt.Sprintf("pluginConfig[%d]", i)), pc.Name)
		}
	}
}

// defaultsAt lists the default plugins of point, with score weights.
func defaultsAt(d framework.PluginSet, point string) []Plugin {
	switch point {
	case PointPreFilter:
		return named(d.PreFilter)
	case PointFilter:
		return named(d.Filter)
	case PointScore:
		out := make([]Plugin, len(d.Score))
		for i, w := range d.Score {
			out[i] = Plugin{Name: w.Name, Weight: ptr(int32(w.Weight))}
		}
		return out
	case PointReserve:
		return named(d.Reserve)
	case PointPreBind:
		return named(d.PreBind)
	case PointBind:
		return named(d.Bind)
	}
	return nil
}

// weight is pl's score weight: 1 when it has none, as in Kubernetes.
func weight(pl Plugin) int64 {
	if unweighted(pl) {
		return 1
	}
	return int64(*pl.Weight)
}

// unweighted reports whether pl has no weight: none, or 0, which is what
// Kubernetes writes for none.
func unweighted(pl Plugin) bool {
	return pl.Weight == nil || *pl.Weight == 0
}

func names(plugins []Plugin) map[string]bool {
	out := make(map[string]bool, len(plugins))
	for _, pl := range plugins {
		out[pl.Name] = true
	}
	return out
}

func pluginNames(plugins []Plugin) []string {
	if len(plugins) == 0 {
		return nil
	}
	out := make([]string, len(plugins))
	for i, pl := range plugins {
		out[i] = pl.Name
	}
	return out
}
