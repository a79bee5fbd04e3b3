package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// The -o formats.
const (
	outputTable = ""
	outputWide  = "wide"
	outputYAML  = "yaml"
	outputJSON  = "json"
	outputName  = "name"
)

func checkOutput(o string) error {
	switch o {
	case outputTable, outputWide, outputYAML, outputJSON, outputName:
		return nil
	}
	return fmt.Errorf("--output %q is not supported: use wide, yaml, json or name", o)
}

// listOutput is the List kubectl prints for several objects; its fields
// are in kubectl's order.
type listOutput struct {
	APIVersion string      `json:"apiVersion"`
	Items      []v1.Object `json:"items"`
	Kind       string      `json:"kind"`
	Metadata   struct {
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
}

// typedObject is one object of a known kind.
type typedObject struct {
	kind *v1.Kind
	obj  v1.Object
}

// withType sets the object's apiVersion and kind, which list items may
// lack, and returns it.
func (t typedObject) withType() v1.Object {
	*t.obj.GetTypeMeta() = v1.TypeMeta{APIVersion: t.kind.APIVersion(), Kind: t.kind.Kind}
	return t.obj
}

// name is kind/name, as -o name prints it.
func (t typedObject) name() string { return t.kind.Singular + "/" + t.obj.GetObjectMeta().Name }

// printList writes objects as one List (yaml, json) or one name a line.
func printList(w io.Writer, format string, objs []typedObject) error {
	if format == outputName {
		for _, o := range objs {
			fmt.Fprintln(w, o.name())
		}
		return nil
	}
	l := listOutput{APIVersion: "v1", Kind: "List", Items: make([]v1.Object, 0, len(objs))}
	for _, o := range objs {
		l.Items = append(l.Items, o.withType())
	}
	return encode(w, format, l)
}

// printObject writes one object as yaml, json or its name.
func printObject(w io.Writer, format string, o typedObject) error {
	if format == outputName {
		_, err := fmt.Fprintln(w, o.name())
		return err
	}
	return encode(w, format, o.withType())
}

// encode writes v as indented JSON (as kubectl does, four spaces) or YAML.
func encode(w io.Writer, format string, v any) error {
	var b []byte
	var err error
	if format == outputJSON {
		b, err = json.MarshalIndent(v, "", "    ")
		b = append(b, '\n')
	} else {
		b, err = yaml.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("encode %s: %w", format, err)
	}
	_, err = w.Write(b)
	return err
}
