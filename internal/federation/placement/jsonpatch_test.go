package placement

import (
	"encoding/json"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// applyPatch applies ops in turn to the JSON text doc.
func applyPatch(t *testing.T, doc string, ops []v1.JSONPatchOperation) (string, error) {
	t.Helper()
	d, err := decodeJSON([]byte(doc))
	if err != nil {
		t.Fatalf("decode %s: %v", doc, err)
	}
	for _, op := range ops {
		if d, err = applyPatchOp(d, op); err != nil {
			return "", err
		}
	}
	out, err := encodeJSON(d)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return string(out), nil
}

func op(name, path, value string) v1.JSONPatchOperation {
	o := v1.JSONPatchOperation{Op: name, Path: path}
	if value != "" {
		o.Value = json.RawMessage(value)
	}
	return o
}

// TestJSONPatch follows the examples of RFC 6902, appendix A, for the
// operations overrides accept.
func TestJSONPatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		ops       []v1.JSONPatchOperation
		want      string
	}{
		{"A.1 add an object member", `{"foo":"bar"}`, []v1.JSONPatchOperation{op("add", "/baz", `"qux"`)}, `{"baz":"qux","foo":"bar"}`},
		{"A.2 add an array element", `{"foo":["bar","baz"]}`, []v1.JSONPatchOperation{op("add", "/foo/1", `"qux"`)}, `{"foo":["bar","qux","baz"]}`},
		{"add at the end by index", `{"foo":["bar"]}`, []v1.JSONPatchOperation{op("add", "/foo/1", `"qux"`)}, `{"foo":["bar","qux"]}`},
		{"A.3 remove an object member", `{"baz":"qux","foo":"bar"}`, []v1.JSONPatchOperation{op("remove", "/baz", "")}, `{"foo":"bar"}`},
		{"A.4 remove an array element", `{"foo":["bar","qux","baz"]}`, []v1.JSONPatchOperation{op("remove", "/foo/1", "")}, `{"foo":["bar","baz"]}`},
		{"A.5 replace a value", `{"baz":"qux","foo":"bar"}`, []v1.JSONPatchOperation{op("replace", "/baz", `"boo"`)}, `{"baz":"boo","foo":"bar"}`},
		{"A.8 test a value", `{"baz":"qux","foo":["a",2,"c"]}`, []v1.JSONPatchOperation{op("test", "/baz", `"qux"`), op("test", "/foo/1", "2")}, `{"baz":"qux","foo":["a",2,"c"]}`},
		{"A.10 add a nested member object", `{"foo":"bar"}`, []v1.JSONPatchOperation{op("add", "/child", `{"grandchild":{}}`)}, `{"child":{"grandchild":{}},"foo":"bar"}`},
		{"A.14 ~ escape ordering", `{"/":9,"~1":10}`, []v1.JSONPatchOperation{op("test", "/~01", "10"), op("replace", "/~1", "8")}, `{"/":8,"~1":10}`},
		{"A.16 add an array value", `{"foo":["bar"]}`, []v1.JSONPatchOperation{op("add", "/foo/-", `["abc","def"]`)}, `{"foo":["bar",["abc","def"]]}`},
		{"deep add into a grown array", `{"a":{"b":[[1]]}}`, []v1.JSONPatchOperation{op("add", "/a/b/0/-", "2"), op("add", "/a/b/0/0", "0")}, `{"a":{"b":[[0,1,2]]}}`},
		{"remove from a nested array", `{"a":[{"b":[1,2,3]}]}`, []v1.JSONPatchOperation{op("remove", "/a/0/b/0", "")}, `{"a":[{"b":[2,3]}]}`},
		{"test: numbers by value, objects in any order", `{"a":{"x":1,"y":[1.0]}}`, []v1.JSONPatchOperation{op("test", "/a", `{"y":[1e0],"x":1.00}`)}, `{"a":{"x":1,"y":[1.0]}}`},
		{"add replaces an existing member", `{"a":1}`, []v1.JSONPatchOperation{op("add", "/a", "2")}, `{"a":2}`},
		{"an empty key", `{"":1}`, []v1.JSONPatchOperation{op("replace", "/", "2")}, `{"":2}`},
		{"the whole document", `{"a":1}`, []v1.JSONPatchOperation{op("replace", "", `{"b":2}`)}, `{"b":2}`},
		{"a null value", `{"a":1}`, []v1.JSONPatchOperation{op("test", "/a", "1"), op("add", "/b", "null")}, `{"a":1,"b":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := applyPatch(t, tt.doc, tt.ops)
			if err != nil {
				t.Fatalf("patch: %v", err)
			}
			if got != tt.want {
				t.Errorf("patch = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestJSONPatchErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		op        v1.JSONPatchOperation
		want      string
	}{
		{"A.6 remove a missing member", `{"foo":"bar"}`, op("remove", "/baz", ""), "no such member"},
		{"A.9 test a different value", `{"baz":"qux"}`, op("test", "/baz", `"bar"`), `value is "qux", not "bar"`},
		{"test a missing member", `{"baz":"qux"}`, op("test", "/x/y", "1"), `"/x" does not exist`},
		{"A.12 add to a missing parent", `{"foo":"bar"}`, op("add", "/baz/bat", `"qux"`), `"/baz" does not exist`},
		{"add into a string", `{"foo":"bar"}`, op("add", "/foo/x", "1"), "parent is not an object or array"},
		{"walk through a number", `{"a":1}`, op("add", "/a/b/c", "1"), `"/a" is not an object or array`},
		{"A.11 an array index out of range", `{"foo":["bar"]}`, op("add", "/foo/2", "1"), "index 2 out of range (length 1)"},
		{"replace past the end", `{"foo":["bar"]}`, op("replace", "/foo/1", "1"), "index 1 out of range (length 1)"},
		{"remove the end marker", `{"foo":["bar"]}`, op("remove", "/foo/-", ""), `"-" is not an array index`},
		{"a leading zero", `{"foo":["bar","baz"]}`, op("replace", "/foo/01", "1"), `"01" is not an array index`},
		{"a negative index", `{"foo":["bar"]}`, op("remove", "/foo/-1", ""), `"-1" is not an array index`},
		{"an index on the way out of range", `{"foo":[]}`, op("add", "/foo/0/a", "1"), `"/foo/0": index 0 out of range (length 0)`},
		{"a bad escape", `{}`, op("add", "/a~2", "1"), `token "a~2": ~ must be followed by 0 or 1`},
		{"a trailing ~", `{}`, op("add", "/a~", "1"), `token "a~": ~ must be followed by 0 or 1`},
		{"not a pointer", `{}`, op("add", "a", "1"), `not a JSON pointer: must start with "/"`},
		{"no value", `{}`, op("add", "/a", ""), "no value"},
		{"a value that is not JSON", `{}`, op("add", "/a", "{"), "value: unexpected EOF"},
		{"remove everything", `{}`, op("remove", "", ""), "cannot remove the whole object"},
		{"an unsupported op", `{"a":1}`, op("move", "/b", `"/a"`), `op "move" is not add, remove, replace or test`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := applyPatch(t, tt.doc, []v1.JSONPatchOperation{tt.op})
			if err == nil || err.Error() != tt.want {
				t.Errorf("patch = %s, %v; want error %q", got, err, tt.want)
			}
		})
	}
}
