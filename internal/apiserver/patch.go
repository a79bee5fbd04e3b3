package apiserver

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// patch applies a JSON merge patch (RFC 7386) to the current object and
// stores the result as an update conditioned on the revision it read, so
// concurrent patches never lose each other's changes.
func (s *Server) patch(w http.ResponseWriter, r *http.Request, id *Identity, info *requestInfo, body []byte) (int, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/merge-patch+json" && ct != "application/json" {
		return 0, v1.NewError(v1.ReasonUnsupported, "patch type %q is not supported: use application/merge-patch+json", ct)
	}
	var p any
	if err := json.Unmarshal(body, &p); err != nil {
		return 0, v1.NewError(v1.ReasonBadRequest, "patch is not valid JSON: %v", err)
	}
	ctx := r.Context()
	start := time.Now()
	kv, err := s.st.Get(ctx, s.key(info.Kind, info.Namespace, info.Name))
	s.metrics.storeOp("get", start)
	if err == nil {
		kv, err = s.secrets.open(kv)
	}
	for err == nil {
		var cur any
		if err := json.Unmarshal(kv.Value, &cur); err != nil {
			return 0, err
		}
		merged, err := json.Marshal(mergePatch(cur, p))
		if err != nil {
			return 0, err
		}
		obj, err := s.decodeBody(info, merged)
		if err != nil {
			return 0, err
		}
		// A patch that names a resourceVersion is conditional on it;
		// otherwise it is reapplied to the newest object until it lands.
		want, err := parseRV(obj.GetObjectMeta().ResourceVersion)
		if err != nil {
			return 0, err
		}
		if want != 0 && want != kv.Revision {
			return 0, store.ErrConflict
		}
		code, next, err := s.tryUpdate(w, ctx, id, info, obj, kv, nil)
		if !errors.Is(err, store.ErrConflict) || want != 0 || next == nil {
			return code, err
		}
		kv = next
	}
	return 0, err
}

// mergePatch applies an RFC 7386 merge patch.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}
