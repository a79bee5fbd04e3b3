package v1

import (
	"strconv"
	"strings"
	"testing"
)

// TestConfigDataSizeLimit checks the 1 MiB bound on a ConfigMap's data and
// binaryData together and on a Secret's data (stringData included), and
// that the error names the field and the size but never a value.
func TestConfigDataSizeLimit(t *testing.T) {
	t.Parallel()
	const value = "the-value-itself"
	fill := strings.Repeat("x", maxDataSize-len(value))
	cm := func(extra int) *ConfigMap {
		return &ConfigMap{ObjectMeta: meta("c"), Data: map[string]string{"a": fill + value},
			BinaryData: map[string][]byte{"b": make([]byte, extra)}}
	}
	secret := func(extra int) *Secret {
		return &Secret{ObjectMeta: meta("s"), Data: map[string][]byte{"a": []byte(fill + value)},
			StringData: map[string]string{"b": strings.Repeat("y", extra)}}
	}
	cases := []struct {
		name string
		obj  Object
		size int // 0: valid
	}{
		{"configmap at the limit", cm(0), 0},
		{"configmap over the limit", cm(1), maxDataSize + 1},
		{"secret at the limit", secret(0), 0},
		{"secret over the limit through stringData", secret(2), maxDataSize + 2},
	}
	r := NewRegistry()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, _ := KindOf(r, c.obj)
			if k.Default != nil {
				k.Default(c.obj)
			}
			errs := k.Validate(c.obj)
			if c.size == 0 {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != "data" || errs[0].Type != FieldTooLong {
				t.Fatalf("want one FieldValueTooLong on data, got %v", errs)
			}
			for _, want := range []string{"1048576", strconv.Itoa(c.size)} {
				if !strings.Contains(errs[0].Detail, want) {
					t.Errorf("error %q does not name %s", errs[0].Detail, want)
				}
			}
			if strings.Contains(errs.Error(), value) {
				t.Errorf("error echoes the data: %q", errs.Error())
			}
		})
	}
}

func TestImmutableSecretAndConfigMapUpdates(t *testing.T) {
	t.Parallel()
	immutable := func() *Secret {
		s := validSecret()
		s.Immutable = ptr(true)
		defaultSecret(s)
		return s
	}
	runValidateUpdate(t, immutable, []ucase[*Secret]{
		{"unset immutable", func(s *Secret) { s.Immutable = nil }, []string{"immutable"}},
		{"set immutable false", func(s *Secret) { s.Immutable = ptr(false) }, []string{"immutable"}},
		{"same stringData as data", func(s *Secret) { s.StringData = map[string]string{"password": "s3cret"} }, nil},
		{"new key", func(s *Secret) { s.Data["other"] = []byte("x") }, []string{"data"}},
	})
}
