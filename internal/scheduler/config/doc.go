// Package config reads the scheduler's configuration file, which has the
// shape of Kubernetes' KubeSchedulerConfiguration where the features
// overlap: profiles with plugins enabled and disabled per extension point
// (with score weights), plugin arguments, the percentage of nodes to
// score, and HTTP extenders. A kube-scheduler configuration loads
// unchanged: the Kubernetes settings Kennel has no use for, and
// Kubernetes' plugins that Kennel lacks, are dropped with warnings.
//
// Load (or Parse) decodes, defaults and validates a file; Resolve merges
// a profile's plugins with DefaultPlugins as Kubernetes does, against the
// scheduler's registry of plugins, into the framework.PluginSet the
// scheduler builds its profile from; Default and YAML print the defaults
// for a user to edit.
package config
