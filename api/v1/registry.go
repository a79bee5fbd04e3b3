package v1

import (
	"reflect"
	"sort"
	"strings"
)

// Kind describes one kind of object: its names, where it lives in the API,
// and the functions that default and validate it.
type Kind struct {
	// Kind is the canonical kind name ("PetSet").
	Kind string
	// Aliases are other kind names accepted on input ("StatefulSet").
	Aliases []string
	// Resource is the plural used in API paths ("petsets").
	Resource string
	// Singular is the lower-case singular name ("petset").
	Singular string
	// ShortNames are abbreviations the CLI accepts ("ps", "sts").
	ShortNames []string
	// APIVersions are the apiVersion values accepted on input; the first one
	// is written on output.
	APIVersions []string
	// Namespaced is false for cluster-scoped kinds (Node, Namespace, PV, …).
	Namespaced bool
	// HasStatus says the kind has a status that only the /status
	// subresource writes.
	HasStatus bool
	// New returns a new empty object of the kind.
	New func() Object
	// Default fills unset fields with their defaults. May be nil.
	Default func(Object)
	// Validate checks a whole object. May be nil.
	Validate func(Object) FieldErrors
	// ValidateUpdate checks a change, typically for immutable fields. It is
	// called in addition to Validate. May be nil.
	ValidateUpdate func(old, new Object) FieldErrors
}

// APIVersion is the apiVersion written on output.
func (k *Kind) APIVersion() string { return k.APIVersions[0] }

// AcceptsAPIVersion reports whether v is a valid apiVersion for the kind.
func (k *Kind) AcceptsAPIVersion(v string) bool {
	for _, x := range k.APIVersions {
		if x == v {
			return true
		}
	}
	return false
}

// NewObject returns a new object of the kind with its TypeMeta set.
func (k *Kind) NewObject() Object {
	o := k.New()
	*o.GetTypeMeta() = TypeMeta{APIVersion: k.APIVersion(), Kind: k.Kind}
	return o
}

// Registry is the set of kinds a server or client knows. It is built once
// and read-only afterwards, so it is safe for concurrent use.
type Registry struct {
	kinds      []*Kind
	byResource map[string]*Kind
	byName     map[string]*Kind
	byType     map[reflect.Type]*Kind
	// schemas holds the JSON shape of each kind's Go type, for strict
	// decoding.
	schemas    map[reflect.Type]*schema
	listSchema *schema
}

// NewRegistry returns a registry of every built-in kind.
func NewRegistry() *Registry {
	return newRegistry(builtinKinds())
}

func newRegistry(kinds []*Kind) *Registry {
	r := &Registry{byResource: map[string]*Kind{}, byName: map[string]*Kind{},
		byType: map[reflect.Type]*Kind{}, schemas: map[reflect.Type]*schema{}}
	b := newSchemaBuilder()
	r.listSchema = b.build(reflect.TypeFor[List]())
	for _, k := range kinds {
		r.kinds = append(r.kinds, k)
		t := reflect.TypeOf(k.New())
		r.byType[t] = k
		r.schemas[t] = b.build(t)
		r.byResource[k.Resource] = k
		names := append([]string{k.Kind, k.Resource, k.Singular}, k.ShortNames...)
		names = append(names, k.Aliases...)
		for _, a := range k.Aliases {
			names = append(names, strings.ToLower(a)+"s")
		}
		for _, n := range names {
			r.byName[strings.ToLower(n)] = k
		}
	}
	sort.Slice(r.kinds, func(i, j int) bool { return r.kinds[i].Kind < r.kinds[j].Kind })
	return r
}

// All returns every kind, sorted by name.
func (r *Registry) All() []*Kind { return r.kinds }

// ByResource finds a kind by its plural resource name ("pods").
func (r *Registry) ByResource(resource string) (*Kind, bool) {
	k, ok := r.byResource[resource]
	return k, ok
}

// ByKind finds a kind by its kind name or an alias ("StatefulSet").
func (r *Registry) ByKind(kind string) (*Kind, bool) {
	k, ok := r.byName[strings.ToLower(kind)]
	if !ok {
		return nil, false
	}
	if k.Kind == kind {
		return k, true
	}
	for _, a := range k.Aliases {
		if a == kind {
			return k, true
		}
	}
	return nil, false
}

// Lookup finds a kind by any name a user may type: kind, plural, singular,
// short name or alias, in any case ("po", "Pods", "sts").
func (r *Registry) Lookup(name string) (*Kind, bool) {
	k, ok := r.byName[strings.ToLower(name)]
	return k, ok
}
