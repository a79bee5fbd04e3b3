package v1

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// valueKind is the JSON shape a Go type accepts.
type valueKind uint8

const (
	vAny    valueKind = iota // interface{} and json.RawMessage: anything
	vLeaf                    // a json.Unmarshaler: it checks the value itself
	vString                  // string
	vBytes                   // []byte: a base64 string
	vBool                    // bool
	vInt                     // signed integer of bits
	vUint                    // unsigned integer of bits
	vFloat                   // float
	vStruct                  // object with known fields
	vMap                     // object with string keys and elem values
	vSlice                   // array of elem
)

// schema is the JSON shape of a Go type, computed once per type by
// reflection so that decoding can check a document against it without
// reflecting again.
type schema struct {
	kind valueKind
	typ  reflect.Type // vLeaf: the type that unmarshals the value
	leaf leafKind     // vLeaf: a type the walker checks without reflection
	bits int          // vInt, vUint: size

	// vStruct: JSON names (inline embedded structs flattened) to fields.
	index       map[string]int
	fields      []*schema
	unsupported map[string]string // JSON name → why Kennel does not support it

	elem *schema // vMap values, vSlice elements
}

// leafKind names the leaf types the walker checks directly, because they
// are in every object and reflection would dominate the walk.
type leafKind uint8

const (
	leafOther       leafKind = iota // checked by its own UnmarshalJSON
	leafTime                        // Time, MicroTime: an RFC 3339 string
	leafIntOrString                 // IntOrString: an int32 or a string
	leafQuantity                    // resource.Quantity: a quantity string or number
)

var leafKinds = map[reflect.Type]leafKind{
	reflect.TypeFor[Time]():               leafTime,
	reflect.TypeFor[MicroTime]():          leafTime,
	reflect.TypeFor[intstr.IntOrString](): leafIntOrString,
	reflect.TypeFor[resource.Quantity]():  leafQuantity,
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawMessage      = reflect.TypeFor[json.RawMessage]()
)

// schemaBuilder builds schemas, sharing one per type (PodSpec appears in
// Pod, PetSet and Deployment).
type schemaBuilder struct {
	memo        map[reflect.Type]*schema
	unsupported map[reflect.Type]map[string]string
}

func newSchemaBuilder() *schemaBuilder {
	return &schemaBuilder{memo: map[reflect.Type]*schema{}, unsupported: unsupportedFields()}
}

func (b *schemaBuilder) build(t reflect.Type) *schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := b.memo[t]; ok {
		return s
	}
	s := &schema{}
	// Memoize before descending so recursive types terminate.
	b.memo[t] = s
	switch {
	case t == rawMessage || t.Kind() == reflect.Interface:
		s.kind = vAny
	case reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler):
		s.kind, s.typ, s.leaf = vLeaf, t, leafKinds[t]
	default:
		b.fill(s, t)
	}
	return s
}

func (b *schemaBuilder) fill(s *schema, t reflect.Type) {
	switch t.Kind() {
	case reflect.String:
		s.kind = vString
	case reflect.Bool:
		s.kind = vBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.kind, s.bits = vInt, t.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		s.kind, s.bits = vUint, t.Bits()
	case reflect.Float32, reflect.Float64:
		s.kind = vFloat
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonUnmarshaler) {
			s.kind = vBytes
			return
		}
		s.kind, s.elem = vSlice, b.build(t.Elem())
	case reflect.Map:
		s.kind, s.elem = vMap, b.build(t.Elem())
	case reflect.Struct:
		s.kind = vStruct
		s.index = map[string]int{}
		b.addFields(s, t)
	default:
		// Channels, functions: never in API types; accept anything.
		s.kind = vAny
	}
}

// addFields adds the JSON fields of struct t to s, following
// encoding/json: embedded structs without a JSON name are flattened.
func (b *schemaBuilder) addFields(s *schema, t reflect.Type) {
	for k, v := range b.unsupported[t] {
		if s.unsupported == nil {
			s.unsupported = map[string]string{}
		}
		s.unsupported[k] = v
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.addFields(s, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := s.index[name]; dup {
			continue // the shallower field wins, as in encoding/json
		}
		s.index[name] = len(s.fields)
		s.fields = append(s.fields, b.build(f.Type))
	}
}

// fieldNames returns the JSON names of a struct schema's fields.
func (s *schema) fieldNames() []string {
	out := make([]string, 0, len(s.index))
	for k := range s.index {
		out = append(out, k)
	}
	return out
}
