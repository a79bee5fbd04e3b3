package config

// Configuration is a scheduler configuration file.
type Configuration struct {
	// Profiles: one scheduler per profile, named by its schedulerName.
	Profiles []Profile `json:"profiles,omitempty"`
}

// Profile is one scheduling pipeline.
type Profile struct {
	SchedulerName string `json:"schedulerName,omitempty"`
}
