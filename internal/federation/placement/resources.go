package placement

import (
	"encoding/json"
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// Unlimited is what FitReplicas answers when nothing limits the number
// of replicas: the most a replica count can be.
const Unlimited = math.MaxInt32

// FitReplicas is how many replicas, each requesting perReplica, fit in
// free: the least, over the resources requested, of free / request (cpu
// counted in millicores, everything else in units). A resource not
// requested does not limit; a requested one the cluster does not report
// as free allows none. Nothing requested, or more than Unlimited fitting,
// answers Unlimited.
func FitReplicas(free, perReplica v1.ResourceList) int64 {
	n := int64(Unlimited)
	for name, req := range perReplica {
		r := amount(name, req)
		if r <= 0 {
			continue
		}
		n = min(n, max(amount(name, free[name]), 0)/r)
	}
	return n
}

func amount(name string, q resource.Quantity) int64 {
	if name == v1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// PerReplica is what one replica of a PetSet (or StatefulSet) or a
// Deployment requests, from its JSON manifest: its pod template's
// requests (the containers' summed, raised to any init container's that
// is larger, as Kubernetes and Kennel's scheduler count them) plus, for a
// PetSet, the requests of its volumeClaimTemplates (storage,
// kennel.io/storage-iops, kennel.io/storage-bandwidth).
func PerReplica(obj json.RawMessage) (v1.ResourceList, error) {
	var tm v1.TypeMeta
	if err := json.Unmarshal(obj, &tm); err != nil {
		return nil, fmt.Errorf("placement: decode manifest: %w", err)
	}
	switch tm.Kind {
	case "PetSet", "StatefulSet":
		var ps v1.PetSet
		if err := json.Unmarshal(obj, &ps); err != nil {
			return nil, fmt.Errorf("placement: decode %s: %w", tm.Kind, err)
		}
		rl := podRequests(&ps.Spec.Template.Spec)
		for i := range ps.Spec.VolumeClaimTemplates {
			addTo(rl, ps.Spec.VolumeClaimTemplates[i].Spec.Resources.Requests)
		}
		return rl, nil
	case "Deployment":
		var d v1.Deployment
		if err := json.Unmarshal(obj, &d); err != nil {
			return nil, fmt.Errorf("placement: decode Deployment: %w", err)
		}
		return podRequests(&d.Spec.Template.Spec), nil
	default:
		return nil, fmt.Errorf("placement: kind %q: only PetSets, StatefulSets and Deployments have replicas to divide", tm.Kind)
	}
}

func podRequests(spec *v1.PodSpec) v1.ResourceList {
	rl := v1.ResourceList{}
	for i := range spec.Containers {
		addTo(rl, spec.Containers[i].Resources.Requests)
	}
	for i := range spec.InitContainers {
		for name, q := range spec.InitContainers[i].Resources.Requests {
			if cur, ok := rl[name]; !ok || q.Cmp(cur) > 0 {
				rl[name] = q.DeepCopy()
			}
		}
	}
	return rl
}

// addTo adds src to dst. Quantities are copied before they are added to:
// Quantity.Add may change a decimal shared with the quantity it was
// copied from.
func addTo(dst, src v1.ResourceList) {
	for name, q := range src {
		sum := q.DeepCopy()
		if cur, ok := dst[name]; ok {
			sum = cur.DeepCopy()
			sum.Add(q)
		}
		dst[name] = sum
	}
}
