package apiserver

import (
	"errors"
	"io"
	"net/http"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// serveResource routes, authorizes and dispatches one resource request.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, id *Identity) {
	start := time.Now()
	info, err := parseRequest(s.reg, r)
	if err != nil {
		code := writeError(w, err)
		s.metrics.observe("unknown", "unknown", code, start)
		return
	}
	if info.proxied() {
		code := s.dispatchProxy(w, r, id, info)
		s.metrics.count(info.Verb, info.Kind.Resource+"/"+info.Subresource, code)
		return
	}
	code := s.dispatch(w, r, id, info)
	s.metrics.observe(info.Verb, info.Kind.Resource, code, start)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, id *Identity, info *requestInfo) int {
	if err := authorize(id, info); err != nil {
		return writeError(w, err)
	}
	var err error
	code := http.StatusOK
	switch info.Verb {
	case verbGet:
		err = s.get(w, r, id, info)
	case verbList:
		err = s.list(w, r, id, info)
	case verbWatch:
		err = s.watch(w, r, id, info)
	case verbCreate, verbUpdate, verbPatch:
		var body []byte
		body, err = s.readBody(w, r)
		switch {
		case err != nil:
		case info.binding():
			code, err = s.bindPod(w, r.Context(), id, info, body)
		default:
			code, err = s.write(w, r, id, info, body)
		}
	case verbDelete:
		var body []byte
		body, err = s.readBody(w, r)
		if err == nil {
			err = s.delete(w, r, id, info, body)
		}
	}
	if err != nil {
		err = storeError(err, info)
		if !errors.As(err, new(*v1.Error)) {
			s.log.Error("request failed", "verb", info.Verb, "resource", info.Kind.Resource, "name", info.Name, "err", err)
		}
		return writeError(w, err)
	}
	return code
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := readAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), r.ContentLength, s.cfg.MaxBodyBytes)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, v1.NewError(v1.ReasonTooLarge, "request body is larger than the limit of %d bytes", s.cfg.MaxBodyBytes)
	}
	if err != nil {
		return nil, v1.NewError(v1.ReasonBadRequest, "read request body: %v", err)
	}
	return body, nil
}

// readAll reads r whole, in one allocation when the length is known.
func readAll(r io.Reader, n, limit int64) ([]byte, error) {
	if n <= 0 || n > limit {
		return io.ReadAll(r)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// storeError maps store outcomes to API errors naming the object.
func storeError(err error, info *requestInfo) error {
	what := info.Kind.Resource
	if info.Name != "" {
		what = info.Kind.Singular + " " + quote(info.Name)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return v1.NewError(v1.ReasonNotFound, "%s not found", what)
	case errors.Is(err, store.ErrExists):
		return v1.NewError(v1.ReasonAlreadyExists, "%s already exists", what)
	case errors.Is(err, store.ErrConflict):
		return v1.NewError(v1.ReasonConflict, "operation cannot be fulfilled on %s: the object has been modified; read it again and retry", what)
	case errors.Is(err, store.ErrCompacted):
		return v1.NewError(v1.ReasonGone, "the resourceVersion asked for is too old (compacted); list again")
	case errors.Is(err, store.ErrFutureRevision):
		return v1.NewError(v1.ReasonTimeout, "the resourceVersion asked for is newer than the store's")
	case errors.Is(err, store.ErrBadContinue):
		return v1.NewError(v1.ReasonBadRequest, "the continue token is not valid")
	}
	return err
}

// key is where an object lives in the store.
func (s *Server) key(kind *v1.Kind, ns, name string) string {
	if kind.Namespaced {
		return s.st.Prefix() + "/" + kind.Resource + "/" + ns + "/" + name
	}
	return s.st.Prefix() + "/" + kind.Resource + "/" + name
}

// listPrefix is the prefix of every object of kind in ns ("" for all).
func (s *Server) listPrefix(kind *v1.Kind, ns string) string {
	if kind.Namespaced && ns != "" {
		return s.st.Prefix() + "/" + kind.Resource + "/" + ns + "/"
	}
	return s.st.Prefix() + "/" + kind.Resource + "/"
}
