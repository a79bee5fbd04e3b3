package apiserver

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

func (s *Server) get(w http.ResponseWriter, r *http.Request, id *Identity, info *requestInfo) error {
	if err := s.authorizeSecretRead(r.Context(), id, info); err != nil {
		return err
	}
	start := time.Now()
	kv, err := s.st.Get(r.Context(), s.key(info.Kind, info.Namespace, info.Name))
	s.metrics.storeOp("get", start)
	if err != nil {
		return err
	}
	if kv, err = s.reveal(id, kv); err != nil {
		return err
	}
	writeObject(w, http.StatusOK, kv.Value, kv.Revision)
	return nil
}

// list serves a page of objects. With a selector the page is filled from
// as many store pages as it takes, so limit counts matching objects.
func (s *Server) list(w http.ResponseWriter, r *http.Request, id *Identity, info *requestInfo) error {
	q := r.URL.Query()
	sel, err := parseSelectors(q.Get("labelSelector"), q.Get("fieldSelector"), info.Kind)
	if err != nil {
		return err
	}
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		return err
	}
	rev, err := parseRV(q.Get("resourceVersion"))
	if err != nil {
		return err
	}
	opts := store.ListOptions{Limit: limit, Continue: q.Get("continue")}
	if opts.Continue == "" && q.Get("resourceVersionMatch") == "Exact" {
		opts.Revision = rev
	}
	var buf bytes.Buffer
	buf.WriteString(`{"apiVersion":"v1","kind":"` + info.Kind.Kind + `List","metadata":{`)
	items, n := bytes.Buffer{}, int64(0)
	var res *store.ListResult
	for {
		start := time.Now()
		res, err = s.st.List(r.Context(), s.listPrefix(info.Kind, info.Namespace), opts)
		s.metrics.storeOp("list", start)
		if err != nil {
			return err
		}
		for _, kv := range res.KVs {
			if kv, err = s.reveal(id, kv); err != nil {
				return err
			}
			if !sel.empty() {
				ok, err := sel.matches(kv.Value)
				if err != nil || !ok {
					continue
				}
			}
			if n > 0 {
				items.WriteByte(',')
			}
			items.Write(withRV(kv.Value, kv.Revision))
			n++
		}
		if res.Continue == "" || limit == 0 || n >= limit {
			break
		}
		opts = store.ListOptions{Limit: limit - n, Continue: res.Continue}
	}
	buf.WriteString(`"resourceVersion":"` + strconv.FormatInt(res.Revision, 10) + `"`)
	if res.Continue != "" {
		buf.WriteString(`,"continue":"` + res.Continue + `"`)
		if sel.empty() {
			buf.WriteString(`,"remainingItemCount":` + strconv.FormatInt(res.Remaining, 10))
		}
	}
	buf.WriteString(`},"items":[`)
	buf.Write(items.Bytes())
	buf.WriteString("]}")
	writeRaw(w, http.StatusOK, buf.Bytes())
	return nil
}

func parseLimit(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, v1.NewError(v1.ReasonBadRequest, "limit %q must be a non-negative integer", s)
	}
	return n, nil
}
