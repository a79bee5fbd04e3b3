package v1

import (
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Clone returns a deep copy of o. Controllers clone what they read from a
// cache before changing it.
func Clone[T Object](o T) T {
	v := reflect.ValueOf(o)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return o
	}
	out := reflect.New(v.Type().Elem())
	deepCopy(out.Elem(), v.Elem())
	return out.Interface().(T)
}

var quantityType = reflect.TypeFor[resource.Quantity]()

// deepCopy copies src into dst, which has the same type, sharing nothing
// mutable. Structs with unexported fields other than Quantity (Time's
// time.Time) are values and are copied whole.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Struct:
		if src.Type() == quantityType {
			dst.Set(reflect.ValueOf(src.Interface().(resource.Quantity).DeepCopy()))
			return
		}
		t := src.Type()
		for i := 0; i < t.NumField(); i++ {
			if !t.Field(i).IsExported() {
				dst.Set(src)
				return
			}
		}
		for i := 0; i < t.NumField(); i++ {
			deepCopy(dst.Field(i), src.Field(i))
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		if src.Type().Elem().Kind() == reflect.Uint8 {
			reflect.Copy(s, src)
			dst.Set(s)
			return
		}
		for i := 0; i < src.Len(); i++ {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			deepCopy(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	default:
		dst.Set(src)
	}
}

// ObjectKey is the cache and work-queue key of an object: "namespace/name",
// or "name" for cluster-scoped objects.
func ObjectKey(o Object) string {
	m := o.GetObjectMeta()
	if m.Namespace == "" {
		return m.Name
	}
	return m.Namespace + "/" + m.Name
}

// GetPodCondition returns the pod's condition of type t, or nil.
func GetPodCondition(status *PodStatus, t PodConditionType) *PodCondition {
	for i := range status.Conditions {
		if status.Conditions[i].Type == t {
			return &status.Conditions[i]
		}
	}
	return nil
}

// SetPodCondition adds or updates a condition and reports whether anything
// changed. lastTransitionTime moves only when the status changes.
func SetPodCondition(status *PodStatus, c PodCondition) bool {
	old := GetPodCondition(status, c.Type)
	if old == nil {
		if c.LastTransitionTime == nil {
			c.LastTransitionTime = Now()
		}
		status.Conditions = append(status.Conditions, c)
		return true
	}
	if old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
		return false
	}
	if old.Status == c.Status {
		c.LastTransitionTime = old.LastTransitionTime
	} else if c.LastTransitionTime == nil {
		c.LastTransitionTime = Now()
	}
	*old = c
	return true
}

// IsPodReady reports whether the pod's Ready condition is True.
func IsPodReady(pod *Pod) bool {
	c := GetPodCondition(&pod.Status, PodReady)
	return c != nil && c.Status == ConditionTrue
}

// IsPodAvailable reports whether the pod has been Ready for at least
// minReadySeconds at now.
func IsPodAvailable(pod *Pod, minReadySeconds int32, now time.Time) bool {
	c := GetPodCondition(&pod.Status, PodReady)
	if c == nil || c.Status != ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	if c.LastTransitionTime == nil {
		return false
	}
	return !c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second).After(now)
}

// IsPodTerminal reports whether the pod has Succeeded or Failed for good.
func IsPodTerminal(pod *Pod) bool {
	return pod.Status.Phase == PodSucceeded || pod.Status.Phase == PodFailed
}

// GetControllerOf returns the owner reference marked controller, or nil.
func GetControllerOf(o Object) *OwnerReference {
	refs := o.GetObjectMeta().OwnerReferences
	for i := range refs {
		if c := refs[i].Controller; c != nil && *c {
			return &refs[i]
		}
	}
	return nil
}

// IsControlledBy reports whether owner is o's controller (compared by
// UID).
func IsControlledBy(o, owner Object) bool {
	ref := GetControllerOf(o)
	return ref != nil && ref.UID == owner.GetObjectMeta().UID
}

// NewControllerRef returns an owner reference that makes owner, of the
// given kind, the controller of a dependent, blocking the owner's
// foreground deletion until the dependent is gone.
func NewControllerRef(owner Object, kind *Kind) *OwnerReference {
	t := true
	b := true
	m := owner.GetObjectMeta()
	return &OwnerReference{
		APIVersion:         kind.APIVersion(),
		Kind:               kind.Kind,
		Name:               m.Name,
		UID:                m.UID,
		Controller:         &t,
		BlockOwnerDeletion: &b,
	}
}

// ToleratesTaint reports whether any of tolerations tolerates taint, with
// Kubernetes' matching: an empty effect matches every effect, an empty key
// with Exists every key, and Equal (the default operator) compares values.
// Nodes' taints repel pods, clusters' taints repel Placements.
func ToleratesTaint(tolerations []Toleration, taint *Taint) bool {
	for i := range tolerations {
		t := &tolerations[i]
		if t.Effect != "" && t.Effect != taint.Effect {
			continue
		}
		if t.Key != "" && t.Key != taint.Key {
			continue
		}
		switch t.Operator {
		case TolerationOpExists:
			return true
		case "", TolerationOpEqual:
			if t.Value == taint.Value {
				return true
			}
		}
	}
	return false
}
