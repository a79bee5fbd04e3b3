package v1

import (
	"encoding/json"
	"time"
)

// TypeMeta names an object's schema.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// GetTypeMeta gives access to the type fields of any object.
func (t *TypeMeta) GetTypeMeta() *TypeMeta { return t }

// ObjectMeta is the metadata every object carries.
type ObjectMeta struct {
	Name                       string            `json:"name,omitempty"`
	GenerateName               string            `json:"generateName,omitempty"`
	Namespace                  string            `json:"namespace,omitempty"`
	UID                        string            `json:"uid,omitempty"`
	ResourceVersion            string            `json:"resourceVersion,omitempty"`
	Generation                 int64             `json:"generation,omitempty"`
	CreationTimestamp          *Time             `json:"creationTimestamp,omitempty"`
	DeletionTimestamp          *Time             `json:"deletionTimestamp,omitempty"`
	DeletionGracePeriodSeconds *int64            `json:"deletionGracePeriodSeconds,omitempty"`
	Labels                     map[string]string `json:"labels,omitempty"`
	Annotations                map[string]string `json:"annotations,omitempty"`
	OwnerReferences            []OwnerReference  `json:"ownerReferences,omitempty"`
	Finalizers                 []string          `json:"finalizers,omitempty"`
}

// GetObjectMeta gives access to the metadata of any object.
func (m *ObjectMeta) GetObjectMeta() *ObjectMeta { return m }

// HasFinalizer reports whether f is among the object's finalizers.
func (m *ObjectMeta) HasFinalizer(f string) bool {
	for _, x := range m.Finalizers {
		if x == f {
			return true
		}
	}
	return false
}

// RemoveFinalizer removes f and reports whether it was there.
func (m *ObjectMeta) RemoveFinalizer(f string) bool {
	out := m.Finalizers[:0]
	found := false
	for _, x := range m.Finalizers {
		if x == f {
			found = true
			continue
		}
		out = append(out, x)
	}
	m.Finalizers = out
	if len(m.Finalizers) == 0 {
		m.Finalizers = nil
	}
	return found
}

// OwnerReference points at the object that owns this one; when every owner
// is gone the garbage collector deletes the dependent.
type OwnerReference struct {
	APIVersion         string `json:"apiVersion"`
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	UID                string `json:"uid"`
	Controller         *bool  `json:"controller,omitempty"`
	BlockOwnerDeletion *bool  `json:"blockOwnerDeletion,omitempty"`
}

// Object is implemented by every API object (through the embedded TypeMeta
// and ObjectMeta).
type Object interface {
	GetTypeMeta() *TypeMeta
	GetObjectMeta() *ObjectMeta
}

// ListMeta is the metadata of a list.
type ListMeta struct {
	ResourceVersion    string `json:"resourceVersion,omitempty"`
	Continue           string `json:"continue,omitempty"`
	RemainingItemCount *int64 `json:"remainingItemCount,omitempty"`
}

// List is the wire form of every list: the items stay raw JSON so one type
// serves every kind; List[T] in the client decodes them.
type List struct {
	TypeMeta `json:",inline"`
	Metadata ListMeta          `json:"metadata"`
	Items    []json.RawMessage `json:"items"`
}

// Time is a timestamp that encodes as RFC 3339 with second precision, as
// Kubernetes' metav1.Time does.
type Time struct {
	time.Time
}

// NewTime wraps t, truncated to the second as it will be stored.
func NewTime(t time.Time) *Time { return &Time{t.UTC().Truncate(time.Second)} }

// Now is the current time as a *Time.
func Now() *Time { return NewTime(time.Now()) }

// MarshalJSON encodes the time as RFC 3339, or null when zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

// UnmarshalJSON accepts RFC 3339 with or without fractional seconds.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = p.UTC()
	return nil
}

// MicroTime is a timestamp with microsecond precision, used where ordering
// within a second matters (leases, events).
type MicroTime struct {
	time.Time
}

// NowMicro is the current time as a *MicroTime.
func NowMicro() *MicroTime { return &MicroTime{time.Now().UTC().Truncate(time.Microsecond)} }

// MarshalJSON encodes the time with microseconds, or null when zero.
func (t MicroTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
}

// UnmarshalJSON accepts RFC 3339 with or without fractional seconds.
func (t *MicroTime) UnmarshalJSON(b []byte) error {
	var x Time
	if err := x.UnmarshalJSON(b); err != nil {
		return err
	}
	t.Time = x.Time
	return nil
}
