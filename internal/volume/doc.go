// Package volume holds what the volume binding controller, the scheduler
// and the agent agree on about persistent volumes: the QoS of a class or a
// volume (limits and the reservation they imply), and the ledger of what
// volumes and selected claims hold of each node storage device, from which
// the scheduler and the controller decide placement and the agent reports
// what is left.
//
// Drivers live in subpackages: local (kennel.io/local) and flex
// (FlexVolume executables).
package volume
