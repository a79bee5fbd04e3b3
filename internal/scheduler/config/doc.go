// Package config reads the scheduler's configuration file, which has the
// shape of Kubernetes' KubeSchedulerConfiguration where the features
// overlap: profiles with plugins enabled and disabled per extension point
// (with score weights), plugin arguments, the percentage of nodes to
// score, and HTTP extenders.
package config
