// Package placement holds the pure algorithms of federation placement:
// which member clusters a Placement selects (Select), how a workload's
// replicas are divided among them (Divide, FitReplicas, PerReplica), which
// ordinals of a divided PetSet each cluster runs (AssignOrdinals), and how
// the manifest a cluster receives is rendered (Render, SetReplicas).
//
// Nothing here does I/O or talks to an API server: every function maps
// api/v1 values to values, so the federation controller can be tested for
// what it decides apart from how it writes it. The pipeline the controller
// runs per placed object is:
//
//	Select ─▶ clusters ─▶ Divide (Divided only) ─▶ shares
//	                           │
//	          PetSet ──▶ AssignOrdinals ─▶ ranges
//	                           │
//	          Render (overrides) ─▶ SetReplicas ─▶ Work manifest
//
// Errors are prefixed "placement:" and name the field or the override
// that caused them.
package placement
