package member

import (
	"context"
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// strayPets deletes the fenceable pets the member still has and its
// PetSets no longer keep — the federation moved them while the member was
// cut off or down, and the Works just re-applied shrank the PetSets — and
// returns those not gone yet. The renewal is published only once there is
// none: a new deadline would let a node agent start again the containers
// the fence watchdog killed, of a pod the PetSet controller has not
// deleted yet, while the pet runs in another member.
//
// A pod is gone once its node's agent has stopped its processes and
// removed it; a pod on a node that is not Ready counts once it is being
// deleted (its agent, when it returns, stops it before anything else).
func (f *fencing) strayPets(ctx context.Context) ([]string, error) {
	var stray []string
	for _, wl := range f.workloads() {
		if wl.kind != "PetSet" {
			continue
		}
		m := wl.obj.GetObjectMeta()
		set, err := client.For[*v1.PetSet](f.a.mem, m.Namespace).Get(ctx, m.Name)
		if v1.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("member: petset %s/%s: %w", m.Namespace, m.Name, err)
		}
		pods, err := client.For[*v1.Pod](f.a.mem, m.Namespace).List(ctx, client.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("member: pods of petset %s/%s: %w", m.Namespace, m.Name, err)
		}
		for _, p := range pods.Items {
			ord, ok := petOrdinal(set, p)
			if !ok || set.KeepsOrdinal(ord) {
				continue
			}
			if p.DeletionTimestamp == nil {
				if err := f.deleteStray(ctx, p); err != nil {
					return nil, err
				}
			} else if !f.nodeReady(ctx, p.Spec.NodeName) {
				continue
			}
			stray = append(stray, v1.ObjectKey(p))
		}
	}
	return stray, nil
}

// petOrdinal is the ordinal of a pod the PetSet controls.
func petOrdinal(set *v1.PetSet, p *v1.Pod) (int32, bool) {
	if ref := v1.GetControllerOf(p); ref == nil || ref.UID != set.UID {
		return 0, false
	}
	return set.OrdinalOf(p)
}

func (f *fencing) deleteStray(ctx context.Context, p *v1.Pod) error {
	uid := p.UID
	_, err := client.For[*v1.Pod](f.a.mem, p.Namespace).Delete(ctx, p.Name, client.DeleteOptions{Preconditions: &client.Preconditions{UID: &uid}})
	if err != nil && !v1.IsNotFound(err) && !v1.IsConflict(err) {
		return fmt.Errorf("member: delete pod %s, which its PetSet no longer keeps: %w", v1.ObjectKey(p), err)
	}
	f.a.log.Warn("deleting a fenceable pet its PetSet no longer keeps before renewing the fence", "pod", v1.ObjectKey(p))
	return nil
}

func (f *fencing) nodeReady(ctx context.Context, name string) bool {
	if name == "" {
		return true
	}
	n, err := client.For[*v1.Node](f.a.mem, "").Get(ctx, name)
	return err == nil && nodeReady(n)
}
