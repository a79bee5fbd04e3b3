package v1

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// causeFields returns the field of every cause of an API error.
func causeFields(t *testing.T, err error) []string {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Status.Details == nil {
		return nil
	}
	var out []string
	for _, c := range e.Status.Details.Causes {
		out = append(out, c.Field)
	}
	return out
}

func TestDecodeManifests(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	tests := []struct {
		file  string
		kinds []string // as written
		keys  []string
	}{
		{"web.yaml", []string{"Service", "StatefulSet"}, []string{"nginx", "web"}},
		{"redis.yaml", []string{"StorageClass", "ConfigMap", "Service", "StatefulSet", "PersistentVolumeClaim"},
			[]string{"local-ssd", "cache/redis-config", "cache/redis", "cache/redis", "cache/backup"}},
		{"pod.json", []string{"Pod"}, []string{"cache/redis-0"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			objs, err := r.Decode(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var kinds, keys []string
			for _, o := range objs {
				kinds = append(kinds, o.GetTypeMeta().Kind)
				keys = append(keys, ObjectKey(o))
				k, ok := KindOf(r, o)
				if !ok {
					t.Fatalf("no kind for %T", o)
				}
				if k.Default != nil {
					k.Default(o)
				}
				if errs := k.Validate(o); errs != nil {
					t.Errorf("%s %s: %v", k.Kind, ObjectKey(o), errs)
				}
			}
			if !slices.Equal(kinds, tt.kinds) || !slices.Equal(keys, tt.keys) {
				t.Errorf("got %v %v, want %v %v", kinds, keys, tt.kinds, tt.keys)
			}
		})
	}
}

func TestDecodePetSetFromStatefulSet(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	objs, err := r.Decode(readTestdata(t, "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	set, ok := objs[1].(*PetSet)
	if !ok {
		t.Fatalf("got %T, want *PetSet", objs[1])
	}
	if set.Kind != "StatefulSet" || set.APIVersion != "apps/v1" {
		t.Errorf("TypeMeta changed on decode: %+v", set.TypeMeta)
	}
	if *set.Spec.Replicas != 3 || set.Spec.ServiceName != "nginx" || set.Spec.MinReadySeconds != 10 {
		t.Errorf("spec not decoded: %+v", set.Spec)
	}
	c := set.Spec.VolumeClaimTemplates[0]
	if c.Name != "www" || c.Spec.Resources.Requests.Storage().String() != "1Gi" || *c.Spec.StorageClassName != "my-storage-class" {
		t.Errorf("claim template not decoded: %+v", c)
	}
	if err := r.Canonicalize(set); err != nil {
		t.Fatal(err)
	}
	if set.Kind != "PetSet" || set.APIVersion != "kennel.io/v1" {
		t.Errorf("Canonicalize: got %+v", set.TypeMeta)
	}
}

func TestDecodeUnknownFields(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	_, err := r.Decode(readTestdata(t, "unknown-fields.yaml"))
	if !IsInvalid(err) {
		t.Fatalf("got %v, want Invalid", err)
	}
	want := []string{
		"metadata.labelz",
		"spec.replica",
		"spec.template.spec.containers[0].foo",
		"spec.template.spec.containers[0].ports[0].containerPort",
		"spec.template.spec.containers[0].resources.requests[storage]",
		"spec.template.spec.containers[0].securityContext.privileged",
		"spec.template.spec.containers[1].volumeMounts[0].mountPropagation",
		"spec.template.spec.hostNetwork",
		"spec.volumeClaimTemplates[0].spec.dataSource",
	}
	if got := causeFields(t, err); !slices.Equal(got, want) {
		t.Errorf("causes:\n got %q\nwant %q", got, want)
	}
	for _, s := range []string{
		`statefulset "db" is invalid`,
		"spec.template.spec.containers[0].foo: unknown field",
		"spec.replica: unknown field (did you mean \"replicas\"?)",
		"spec.template.spec.hostNetwork: not supported by Kennel",
		"spec.template.spec.containers[0].ports[0].containerPort: expected integer, got string",
	} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message lacks %q: %v", s, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	tests := []struct {
		name   string
		in     string
		reason Reason
		msg    string   // substring of the message
		fields []string // cause fields, when checked
	}{
		{"unknown kind", "apiVersion: v1\nkind: Foo\nmetadata: {name: x}\n",
			ReasonInvalid, `kind "Foo" is not known`, []string{"kind"}},
		{"kind is case sensitive", "apiVersion: v1\nkind: pod\nmetadata: {name: x}\n",
			ReasonInvalid, `kind "pod" is not known`, nil},
		{"missing kind", "apiVersion: v1\nmetadata: {name: x}\n", ReasonInvalid, "kind is required", []string{"kind"}},
		{"missing apiVersion", "kind: Pod\nmetadata: {name: x}\n", ReasonInvalid, "apiVersion is required", []string{"apiVersion"}},
		{"wrong apiVersion", "apiVersion: apps/v2\nkind: StatefulSet\nmetadata: {name: x}\n",
			ReasonInvalid, `apiVersion "apps/v2" is not accepted for kind "StatefulSet": accepted versions are "kennel.io/v1", "apps/v1"`,
			[]string{"apiVersion"}},
		{"core kind in apps", "apiVersion: apps/v1\nkind: Service\nmetadata: {name: x}\n",
			ReasonInvalid, `"v1", "kennel.io/v1"`, nil},
		{"federation kind in core", "apiVersion: v1\nkind: Cluster\nmetadata: {name: x}\n",
			ReasonInvalid, `accepted versions are "kennel.io/v1"`, nil},
		{"malformed YAML", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: indent\n",
			ReasonBadRequest, "malformed YAML: line 5", nil},
		{"malformed YAML in second document", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: [\n",
			ReasonBadRequest, "malformed YAML: line 5", nil},
		{"duplicate YAML key", "apiVersion: v1\nkind: Pod\nkind: Pod\n", ReasonBadRequest, `line 3: key "kind" already set`, nil},
		{"malformed JSON", "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\"\n  \"metadata\": {}\n}",
			ReasonBadRequest, "malformed JSON: line 4", nil},
		{"malformed JSON in a stream", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}\n\n{\"apiVersion\":\"v1\",\n\"kind\" \"Namespace\"}\n",
			ReasonBadRequest, "malformed JSON: line 4, column 8", nil},
		{"kind not a string", "apiVersion: v1\nkind: 5\n", ReasonInvalid, "kind: expected string, got number", []string{"kind"}},
		{"not an object", "- a\n- b\n", ReasonBadRequest, "must be an object", nil},
		{"type mismatch", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: http\n",
			ReasonInvalid, "spec.ports[0].port: expected integer, got string", []string{"spec.ports[0].port"}},
		{"object for string", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  k: {a: 1}\n",
			ReasonInvalid, "data[k]: expected string, got object", []string{"data[k]"}},
		{"number for string in env", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    env:\n    - name: PORT\n      value: 8080\n",
			ReasonInvalid, "", []string{"spec.containers[0].env[0].value"}},
		{"integer overflow", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":4294967296}]}}`,
			ReasonInvalid, "out of range for a 32-bit integer", []string{"spec.ports[0].port"}},
		{"fraction for integer", `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"s"},"spec":{"replicas":1.5}}`,
			ReasonInvalid, "expected integer, got 1.5", []string{"spec.replicas"}},
		{"duplicate JSON field", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a","name":"b"}}`,
			ReasonInvalid, "duplicate field", []string{"metadata.name"}},
		{"bad base64", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  password: '!!!'\n",
			ReasonInvalid, "invalid base64", []string{"data[password]"}},
		{"bad time", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, creationTimestamp: yesterday}\n",
			ReasonInvalid, "", []string{"metadata.creationTimestamp"}},
		{"bad int-or-string", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - {port: 80, targetPort: true}\n",
			ReasonInvalid, "expected integer or string", []string{"spec.ports[0].targetPort"}},
		{"unknown field in a list item", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n  spek: {}\n",
			ReasonInvalid, "items[0]: namespace \"a\" is invalid: spek: unknown field", []string{"spek"}},
		{"case-mismatched field", `{"apiVersion":"v1","kind":"Namespace","Metadata":{"name":"a"}}`,
			ReasonInvalid, `Metadata: unknown field (did you mean "metadata"?)`, []string{"Metadata"}},
		{"unsupported service type field", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  externalTrafficPolicy: Local\n",
			ReasonInvalid, "spec.externalTrafficPolicy: not supported by Kennel", []string{"spec.externalTrafficPolicy"}},
		{"unsupported volume source", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes:\n  - name: v\n    nfs: {server: s, path: /}\n",
			ReasonInvalid, "not supported by Kennel", []string{"spec.volumes[0].nfs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := r.Decode([]byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if got := ReasonOf(err); got != tt.reason {
				t.Errorf("reason %q, want %q: %v", got, tt.reason, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q lacks %q", err.Error(), tt.msg)
			}
			if tt.fields != nil {
				if got := causeFields(t, err); !slices.Equal(got, tt.fields) {
					t.Errorf("cause fields %q, want %q", got, tt.fields)
				}
			}
		})
	}
}

func TestDecodeDocuments(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"only comments and separators", "# nothing\n---\n---\n# more\n", nil},
		{"separator comment and CRLF", "---  # first\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata: {name: a}\r\n...\r\n", []string{"a"}},
		{"three documents", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n--- \napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n",
			[]string{"a", "b", "a/c"}},
		{"list", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n",
			[]string{"a", "b"}},
		{"typed list", `{"apiVersion":"v1","kind":"NamespaceList","metadata":{"resourceVersion":"7"},"items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}]}`,
			[]string{"a"}},
		{"JSON stream", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}\n{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b\"}}\n",
			[]string{"a", "b"}},
		{"default value of unsupported field", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: false\n  imagePullSecrets: []\n  containers: [{name: c, image: i}]\n",
			[]string{"p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			objs, err := r.Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, ObjectKey(o))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeErrorNamesDocument(t *testing.T) {
	t.Parallel()
	in := "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\nspec: {finalizer: []}\n"
	_, err := NewRegistry().Decode([]byte(in))
	if err == nil || !strings.HasPrefix(err.Error(), "document 2 (line 5): ") {
		t.Fatalf("got %v", err)
	}
	if got := causeFields(t, err); !slices.Equal(got, []string{"spec.finalizer"}) {
		t.Errorf("causes %q", got)
	}
}

func TestDecodeInto(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	pods, _ := r.ByKind("Pod")
	petsets, _ := r.ByKind("PetSet")
	tests := []struct {
		name   string
		kind   *Kind
		in     string
		reason Reason // "" for success
		fields []string
	}{
		{"pod", pods, string(readTestdata(t, "pod.json")), "", nil},
		{"no type meta", pods, `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}`, "", nil},
		{"alias kind", petsets, `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"s"}}`, "", nil},
		{"other kind", pods, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"p"}}`, ReasonBadRequest, nil},
		{"other version", pods, `{"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"p"}}`, ReasonBadRequest, nil},
		{"unknown fields", pods, `{"metadata":{"name":"p","x":1},"spec":{"containers":[{"name":"c","imag":"i"}]},"status":{"y":2}}`,
			ReasonInvalid, []string{"metadata.x", "spec.containers[0].imag", "status.y"}},
		{"escaped key", pods, `{"metadata":{"n\u0061me":"p","\u0078":1}}`, ReasonInvalid, []string{"metadata.x"}},
		{"truncated", pods, `{"metadata":{"name":"p"`, ReasonBadRequest, nil},
		{"trailing garbage", pods, `{"metadata":{}} x`, ReasonBadRequest, nil},
		{"array", pods, `[]`, ReasonBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			obj, err := r.DecodeInto([]byte(tt.in), tt.kind)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if k, _ := KindOf(r, obj); k != tt.kind {
					t.Errorf("decoded a %T", obj)
				}
				return
			}
			if ReasonOf(err) != tt.reason {
				t.Fatalf("got %v (%q), want %q", err, ReasonOf(err), tt.reason)
			}
			if tt.fields != nil {
				if got := causeFields(t, err); !slices.Equal(got, tt.fields) {
					t.Errorf("cause fields %q, want %q", got, tt.fields)
				}
			}
		})
	}
}

// stray is an Object of no registered kind.
type stray struct {
	TypeMeta
	ObjectMeta
}

func TestCanonicalize(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	tests := []struct {
		obj         Object
		kind, apiV  string
		wantErrNone bool
	}{
		{&PetSet{TypeMeta: TypeMeta{Kind: "StatefulSet", APIVersion: "apps/v1"}}, "PetSet", "kennel.io/v1", true},
		{&Pod{}, "Pod", "v1", true},
		{&StorageClass{TypeMeta: TypeMeta{APIVersion: "kennel.io/v1"}}, "StorageClass", "storage.k8s.io/v1", true},
		{&Lease{}, "Lease", "coordination.k8s.io/v1", true},
		{&Placement{}, "Placement", "kennel.io/v1", true},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			if err := r.Canonicalize(tt.obj); err != nil {
				t.Fatal(err)
			}
			if tm := tt.obj.GetTypeMeta(); tm.Kind != tt.kind || tm.APIVersion != tt.apiV {
				t.Errorf("got %+v", tm)
			}
		})
	}
	if err := r.Canonicalize(&stray{}); err == nil {
		t.Error("Canonicalize accepted an unregistered type")
	}
}
