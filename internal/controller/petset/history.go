package petset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// revisionHashLabel carries a revision's hash (Kubernetes' label); pods
// carry the revision's full name in v1.ControllerRevisionHashLabel.
const revisionHashLabel = "controller.kubernetes.io/hash"

// hashAlphabet is Kubernetes' SafeEncodeString alphabet: no vowels (no
// words), no look-alike characters.
const hashAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// revisionData is what a revision keeps of the set: its pod template, in
// the form Kubernetes stores, a strategic-merge patch that replaces the
// template: {"spec":{"template":{"$patch":"replace",...}}}. It is written
// canonically (keys sorted, numbers as JSON numbers of float64), so equal
// templates give equal bytes and the bytes survive the API server's
// merge patches, which re-encode objects that way: a revision whose data
// changed on a metadata patch would be refused as immutable.
func revisionData(set *v1.PetSet) ([]byte, error) {
	t, err := json.Marshal(&set.Spec.Template)
	if err != nil {
		return nil, fmt.Errorf("petset: %s: encode spec.template: %w", v1.ObjectKey(set), err)
	}
	var tmpl map[string]any
	if err := json.Unmarshal(t, &tmpl); err != nil {
		return nil, fmt.Errorf("petset: %s: encode spec.template: %w", v1.ObjectKey(set), err)
	}
	tmpl["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": tmpl}})
}

// hashRevision is Kubernetes' HashControllerRevision: FNV-32 of the data
// and of the collision count, in hashAlphabet.
func hashRevision(data []byte, collisions int32) string {
	h := fnv.New32()
	h.Write(data)
	h.Write([]byte(strconv.FormatInt(int64(collisions), 10)))
	digits := strconv.FormatUint(uint64(h.Sum32()), 10)
	out := make([]byte, len(digits))
	for i := range len(digits) {
		out[i] = hashAlphabet[int(digits[i])%len(hashAlphabet)]
	}
	return string(out)
}

// newRevision builds the revision of set's current template, numbered
// revision, named "<set>-<hash>", labelled like the template (so the
// set's selector finds it), annotated like the set, owned by the set.
func newRevision(set *v1.PetSet, kind *v1.Kind, revision int64, collisions int32) (*v1.ControllerRevision, error) {
	data, err := revisionData(set)
	if err != nil {
		return nil, err
	}
	hash := hashRevision(data, collisions)
	labels := make(map[string]string, len(set.Spec.Template.Labels)+1)
	for k, v := range set.Spec.Template.Labels {
		labels[k] = v
	}
	labels[revisionHashLabel] = hash
	var ann map[string]string
	if len(set.Annotations) > 0 {
		ann = make(map[string]string, len(set.Annotations))
		for k, v := range set.Annotations {
			ann[k] = v
		}
	}
	return &v1.ControllerRevision{
		ObjectMeta: v1.ObjectMeta{
			Name:            set.Name + "-" + hash,
			Namespace:       set.Namespace,
			Labels:          labels,
			Annotations:     ann,
			OwnerReferences: []v1.OwnerReference{*v1.NewControllerRef(set, kind)},
		},
		Data:     data,
		Revision: revision,
	}, nil
}

// sortRevisions orders revisions oldest first: by number, then creation,
// then name.
func sortRevisions(revs []*v1.ControllerRevision) {
	sort.SliceStable(revs, func(i, j int) bool {
		a, b := revs[i], revs[j]
		if a.Revision != b.Revision {
			return a.Revision < b.Revision
		}
		if ca, cb := created(&a.ObjectMeta), created(&b.ObjectMeta); !ca.Equal(cb) {
			return ca.Before(cb)
		}
		return a.Name < b.Name
	})
}

// equalRevisions reports whether two revisions snapshot the same template.
func equalRevisions(a, b *v1.ControllerRevision) bool { return bytes.Equal(a.Data, b.Data) }

// nextRevision is the number after the newest of the sorted revisions.
func nextRevision(revs []*v1.ControllerRevision) int64 {
	if len(revs) == 0 {
		return 1
	}
	return revs[len(revs)-1].Revision + 1
}

// templateOf decodes the pod template a revision snapshots.
func templateOf(rev *v1.ControllerRevision) (v1.PodTemplateSpec, error) {
	var snap struct {
		Spec struct {
			Template v1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data, &snap); err != nil {
		return v1.PodTemplateSpec{}, fmt.Errorf("petset: revision %s: decode data: %w", rev.Name, err)
	}
	return snap.Spec.Template, nil
}

// applyRevision returns a copy of set with the template of rev.
func applyRevision(set *v1.PetSet, rev *v1.ControllerRevision) (*v1.PetSet, error) {
	t, err := templateOf(rev)
	if err != nil {
		return nil, err
	}
	out := v1.Clone(set)
	out.Spec.Template = t
	return out, nil
}

// staleHistory is the revisions to delete to keep revisionHistoryLimit
// revisions besides the live ones (the current and update revisions and
// any a pod was made from), oldest first. revs are sorted.
func staleHistory(set *v1.PetSet, pods []*v1.Pod, revs []*v1.ControllerRevision, live ...string) []*v1.ControllerRevision {
	isLive := map[string]bool{}
	for _, name := range live {
		isLive[name] = true
	}
	for _, p := range pods {
		isLive[revisionOf(p)] = true
	}
	var history []*v1.ControllerRevision
	for _, r := range revs {
		if !isLive[r.Name] {
			history = append(history, r)
		}
	}
	limit := int(v1.DefaultRevisionHistoryLimit)
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(*set.Spec.RevisionHistoryLimit)
	}
	if len(history) <= limit {
		return nil
	}
	return history[:len(history)-limit]
}

// revisions finds the set's current and update revisions among its sorted
// revisions, creating the update revision when the template is new, or
// renumbering an older equal revision as the newest (a rollback), as
// Kubernetes does. collisions is the collision count to report.
func (pc *petControl) revisions(ctx context.Context, set *v1.PetSet, revs []*v1.ControllerRevision) (current, update *v1.ControllerRevision, collisions int32, err error) {
	if set.Status.CollisionCount != nil {
		collisions = *set.Status.CollisionCount
	}
	want, err := newRevision(set, pc.kinds.set, nextRevision(revs), collisions)
	if err != nil {
		return nil, nil, collisions, err
	}
	var equal []*v1.ControllerRevision
	for _, r := range revs {
		if equalRevisions(r, want) {
			equal = append(equal, r)
		}
	}
	switch {
	case len(equal) > 0 && equal[len(equal)-1] == revs[len(revs)-1]:
		update = revs[len(revs)-1]
	case len(equal) > 0:
		update, err = pc.history.UpdateRevision(ctx, equal[len(equal)-1], want.Revision)
	default:
		update, err = pc.createRevision(ctx, set, want, &collisions)
	}
	if err != nil {
		return nil, nil, collisions, err
	}
	for _, r := range revs {
		if r.Name == set.Status.CurrentRevision {
			current = r
		}
	}
	if current == nil {
		current = update
	}
	return current, update, collisions, nil
}

// createRevision creates rev, renaming it with a higher collision count
// while its name is taken by a revision of other data.
func (pc *petControl) createRevision(ctx context.Context, set *v1.PetSet, rev *v1.ControllerRevision, collisions *int32) (*v1.ControllerRevision, error) {
	for {
		hash := hashRevision(rev.Data, *collisions)
		rev.Name = set.Name + "-" + hash
		rev.Labels[revisionHashLabel] = hash
		got, err := pc.history.CreateRevision(ctx, set, rev)
		if err == nil {
			return got, nil
		}
		if !v1.IsAlreadyExists(err) || got == nil {
			return nil, err
		}
		if bytes.Equal(got.Data, rev.Data) {
			return got, nil
		}
		if *collisions == 1<<31-1 {
			return nil, errors.New("petset: revision names collide at every collision count")
		}
		*collisions++
	}
}
