package apiserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// Objects are stored as their JSON encoding with an empty resourceVersion;
// the revision is spliced in on the way out, so reads, lists and watches
// never decode what they only pass through.

var metadataKey = []byte(`"metadata":{`)

// splitForRV splits stored JSON where metadata.resourceVersion goes and
// returns the field to put there (with its comma). ok is false when b has
// no metadata object.
func splitForRV(b []byte, rev int64) (head, field, tail []byte, ok bool) {
	i := bytes.Index(b, metadataKey)
	if i < 0 {
		return nil, nil, b, false
	}
	i += len(metadataKey)
	field = append(make([]byte, 0, 40), `"resourceVersion":"`...)
	field = strconv.AppendInt(field, rev, 10)
	field = append(field, '"')
	if b[i] != '}' {
		field = append(field, ',')
	}
	return b[:i], field, b[i:], true
}

// withRV returns the stored JSON with metadata.resourceVersion set to rev.
func withRV(b []byte, rev int64) []byte {
	head, field, tail, ok := splitForRV(b, rev)
	if !ok {
		return b
	}
	out := make([]byte, 0, len(b)+len(field))
	return append(append(append(out, head...), field...), tail...)
}

// writeObject answers with the stored JSON b at revision rev, writing the
// resourceVersion in place instead of copying b.
func writeObject(w http.ResponseWriter, code int, b []byte, rev int64) {
	head, field, tail, ok := splitForRV(b, rev)
	if !ok {
		writeRaw(w, code, b)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(head)
	w.Write(field)
	w.Write(tail)
	w.Write([]byte{'\n'})
}

// encodeForStore encodes obj without its resourceVersion.
func encodeForStore(obj v1.Object) ([]byte, error) {
	m := obj.GetObjectMeta()
	rv := m.ResourceVersion
	m.ResourceVersion = ""
	b, err := json.Marshal(obj)
	m.ResourceVersion = rv
	return b, err
}

// decodeStored decodes a stored object and sets its resourceVersion.
func decodeStored(kind *v1.Kind, kv *store.KV) (v1.Object, error) {
	obj := kind.New()
	if err := json.Unmarshal(kv.Value, obj); err != nil {
		return nil, v1.NewError(v1.ReasonInternal, "stored %s %s cannot be decoded: %v", kind.Kind, kv.Key, err)
	}
	obj.GetObjectMeta().ResourceVersion = strconv.FormatInt(kv.Revision, 10)
	return obj, nil
}

// selectable is the part of an object that selectors look at.
type selectable struct {
	Metadata struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

func decodeSelectable(b []byte) (*selectable, error) {
	var s selectable
	err := json.Unmarshal(b, &s)
	return &s, err
}

// parseRV parses a resourceVersion; "" and "0" are 0.
func parseRV(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, v1.NewError(v1.ReasonBadRequest, "resourceVersion %q is not a valid revision", s)
	}
	return n, nil
}
