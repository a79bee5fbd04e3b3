package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"

	"github.com/kennel-dev/kennel/internal/scheduler/extender"
)

// Load reads the configuration file at path (YAML or JSON) with Parse.
func Load(path string) (*Configuration, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("scheduler: reading the configuration: %w", err)
	}
	return Parse(data)
}

// Parse decodes a configuration (YAML or JSON), fills its defaults and
// validates it. Unknown fields are errors that name them, except the
// fields of Kubernetes' KubeSchedulerConfiguration that Kennel has no use
// for (leaderElection, clientConnection, …), which are dropped with a
// warning. The warnings say what of the file Kennel ignores.
func Parse(data []byte) (*Configuration, []string, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, nil, fmt.Errorf("scheduler: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber() // keeps plugin args' numbers as written
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, fmt.Errorf("scheduler: %w", err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("scheduler: the configuration must be a %s object, got %s", Kind, jsonKind(doc))
	}
	var warnings []string
	for _, name := range sortedKeys(top) {
		if why, ok := ignoredField(name); ok {
			warnings = append(warnings, fmt.Sprintf("%s: ignored: %s", name, why))
			delete(top, name)
		}
	}
	if errs := checkFields(top, reflect.TypeFor[Configuration](), ""); len(errs) > 0 {
		return nil, warnings, errors.Join(errs...)
	}
	c := &Configuration{}
	if err := decodeStrict(top, c); err != nil {
		return nil, warnings, err
	}
	if c.APIVersion == apiVersionV1beta3 {
		warnings = append(warnings, fmt.Sprintf("apiVersion: %s is read as %s, which has the same fields", apiVersionV1beta3, APIVersion))
	}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, warnings, err
	}
	return c, warnings, nil
}

// decodeStrict decodes the checked document into c.
func decodeStrict(doc map[string]any, c *Configuration) error {
	js, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	return nil
}

// setDefaults fills what a file may leave out: a missing profile list is
// the default profile, an empty schedulerName is DefaultSchedulerName.
func (c *Configuration) setDefaults() {
	if len(c.Profiles) == 0 {
		c.Profiles = []Profile{{}}
	}
	for i := range c.Profiles {
		c.Profiles[i].SchedulerName = c.Profiles[i].name()
	}
}

// YAML renders c with its fields in the order of the types (the
// extension points in pipeline order), and an empty extenders list
// rather than none, so that the output is ready to be edited.
func (c *Configuration) YAML() ([]byte, error) {
	out := *c
	if out.Extenders == nil {
		out.Extenders = []extender.Config{}
	}
	js, err := json.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	// A MapSlice keeps the keys in the order json.Marshal wrote them.
	var doc yamlv2.MapSlice
	if err := yamlv2.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	y, err := yamlv2.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return y, nil
}

// checkFields reports every field of v, a decoded JSON document, that t
// does not have, and every value of the wrong JSON type, naming each by
// its path (profiles[0].plugins.score.enabled[1].wieght), which
// encoding/json's own errors do not.
func checkFields(v any, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil || t == reflect.TypeFor[json.RawMessage]() {
		return nil // null is every type's zero; args are the plugin's
	}
	want := wantKind(t)
	if got := jsonKind(v); got != want {
		return []error{fmt.Errorf("scheduler: %s: must be %s, got %s", orTop(path), want, got)}
	}
	var errs []error
	switch v := v.(type) {
	case map[string]any:
		if t.Kind() == reflect.Map {
			for _, k := range sortedKeys(v) {
				errs = append(errs, checkFields(v[k], t.Elem(), join(path, k))...)
			}
			return errs
		}
		fields := jsonFields(t)
		for _, name := range sortedKeys(v) {
			ft, ok := fields[name]
			if !ok {
				errs = append(errs, fmt.Errorf("scheduler: %s: unknown field", join(path, name)))
				continue
			}
			errs = append(errs, checkFields(v[name], ft, join(path, name))...)
		}
	case []any:
		for i, e := range v {
			errs = append(errs, checkFields(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}

// wantKind is the JSON type a Go type decodes from.
func wantKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a string" // []byte: base64
		}
		return "a list"
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	default:
		return "a number"
	}
}

// jsonKind is the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", v)
}

// jsonFields maps the JSON names of struct t's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case !f.IsExported() || name == "-":
		case f.Anonymous && name == "":
			for n, ft := range jsonFields(f.Type) {
				out[n] = ft
			}
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func orTop(path string) string {
	if path == "" {
		return "the configuration"
	}
	return path
}
