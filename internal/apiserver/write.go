package apiserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

var jsonMarshal = json.Marshal

// write serves create, update (PUT) and patch, and the status subresource.
func (s *Server) write(w http.ResponseWriter, r *http.Request, id *Identity, info *requestInfo, body []byte) (int, error) {
	if info.Verb == verbPatch {
		return s.patch(w, r, id, info, body)
	}
	obj, err := s.decodeBody(info, body)
	if err != nil {
		return 0, err
	}
	if info.Verb == verbCreate {
		return s.create(w, r.Context(), id, info, obj)
	}
	return s.update(w, r.Context(), id, info, obj)
}

// decodeBody strictly decodes a request body as the URL's kind.
func (s *Server) decodeBody(info *requestInfo, body []byte) (v1.Object, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, v1.NewError(v1.ReasonBadRequest, "request body is empty: send a %s object", info.Kind.Kind)
	}
	obj, err := s.reg.DecodeInto(body, info.Kind)
	if err != nil {
		return nil, err
	}
	tm := obj.GetTypeMeta()
	if tm.Kind != "" {
		if k, ok := s.reg.ByKind(tm.Kind); !ok || k != info.Kind {
			return nil, v1.NewError(v1.ReasonBadRequest, "kind %q does not match the resource %q of the URL", tm.Kind, info.Kind.Resource)
		}
	}
	*tm = v1.TypeMeta{APIVersion: info.Kind.APIVersion(), Kind: info.Kind.Kind}
	m := obj.GetObjectMeta()
	if info.Kind.Namespaced {
		if m.Namespace != "" && info.Namespace != "" && m.Namespace != info.Namespace {
			return nil, v1.NewError(v1.ReasonBadRequest, "metadata.namespace %q does not match the namespace %q of the URL", m.Namespace, info.Namespace)
		}
		m.Namespace = info.Namespace
	}
	if info.Name != "" && m.Name != "" && m.Name != info.Name {
		return nil, v1.NewError(v1.ReasonBadRequest, "metadata.name %q does not match the name %q of the URL", m.Name, info.Name)
	}
	if info.Name != "" {
		m.Name = info.Name
	}
	return obj, nil
}

func (s *Server) create(w http.ResponseWriter, ctx context.Context, id *Identity, info *requestInfo, obj v1.Object) (int, error) {
	m := obj.GetObjectMeta()
	if info.Kind.Namespaced && info.Namespace == "" {
		return 0, v1.NewError(v1.ReasonBadRequest, "%s are namespaced: create them under /api/v1/namespaces/{namespace}/%s", info.Kind.Resource, info.Kind.Resource)
	}
	if err := s.checkNamespaceActive(ctx, info); err != nil {
		return 0, err
	}
	if err := authorizeObject(id, info, m, ""); err != nil {
		return 0, err
	}
	if (id.Role == RoleNode && id.Node == "" && info.Kind.Resource == "nodes") ||
		(id.Role == RoleCluster && id.Node == "" && info.Kind.Resource == "clusters") {
		if err := s.tokens.bindNode(ctx, id.TokenID, m.Name); err != nil {
			return 0, fmt.Errorf("apiserver: bind node token: %w", err)
		}
	}
	m.UID = newUID()
	m.CreationTimestamp = v1.Now()
	m.Generation = 1
	m.ResourceVersion = ""
	m.DeletionTimestamp, m.DeletionGracePeriodSeconds = nil, nil
	if info.Kind.Default != nil {
		info.Kind.Default(obj)
	}
	if err := s.admit(ctx, info, obj); err != nil {
		return 0, err
	}
	generated := m.Name == "" && m.GenerateName != ""
	for attempt := 0; ; attempt++ {
		if generated {
			m.Name = m.GenerateName + randomFrom(suffixAlphabet, 5)
		}
		if err := s.validate(info.Kind, nil, obj); err != nil {
			return 0, err
		}
		b, err := encodeForStore(obj)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		key := s.key(info.Kind, m.Namespace, m.Name)
		var rev int64
		err = s.secrets.sealed(key, b, func(stored []byte) (err error) {
			rev, err = s.st.Create(ctx, key, stored)
			return err
		})
		s.metrics.storeOp("create", start)
		if errors.Is(err, store.ErrExists) && generated && attempt < 5 {
			continue
		}
		if err != nil {
			return 0, storeError(err, &requestInfo{Kind: info.Kind, Name: m.Name})
		}
		s.recent.put(key, b, rev, obj)
		writeObject(w, http.StatusCreated, b, rev)
		return http.StatusCreated, nil
	}
}

func (s *Server) validate(kind *v1.Kind, old, obj v1.Object) error {
	var errs v1.FieldErrors
	m := obj.GetObjectMeta()
	if m.Name == "" {
		errs = append(errs, v1.Required("metadata.name", "name or generateName is required"))
	}
	if kind.Validate != nil {
		errs = append(errs, kind.Validate(obj)...)
	}
	if old != nil && kind.ValidateUpdate != nil {
		errs = append(errs, kind.ValidateUpdate(old, obj)...)
	}
	if old != nil && old.GetObjectMeta().DeletionTimestamp != nil {
		for _, f := range m.Finalizers {
			if !old.GetObjectMeta().HasFinalizer(f) {
				errs = append(errs, v1.Forbidden("metadata.finalizers", "no new finalizers can be added while the object is being deleted"))
				break
			}
		}
	}
	if len(errs) > 0 {
		return v1.NewInvalid(kind.Kind, m.Name, errs)
	}
	return nil
}

// checkNamespaceActive refuses creation in a missing or terminating
// namespace.
func (s *Server) checkNamespaceActive(ctx context.Context, info *requestInfo) error {
	if !info.Kind.Namespaced {
		return nil
	}
	_, term, known := s.namespaces.lookup(info.Namespace)
	if !known {
		nsKind, _ := s.reg.ByResource("namespaces")
		kv, err := s.st.GetLocal(ctx, s.key(nsKind, "", info.Namespace))
		if errors.Is(err, store.ErrNotFound) {
			return v1.NewError(v1.ReasonNotFound, "namespace %q not found", info.Namespace)
		}
		if err != nil {
			return err
		}
		term = terminating(kv.Value)
	}
	if term {
		return v1.NewError(v1.ReasonForbidden, "namespace %q is being terminated: no new objects can be created in it", info.Namespace)
	}
	return nil
}

// update replaces an object (or, for /status, its status) if the caller's
// resourceVersion is current. Without a resourceVersion it retries on
// conflict, as Kubernetes' unconditional update does.
func (s *Server) update(w http.ResponseWriter, ctx context.Context, id *Identity, info *requestInfo, obj v1.Object) (int, error) {
	want, err := parseRV(obj.GetObjectMeta().ResourceVersion)
	if err != nil {
		return 0, err
	}
	key := s.key(info.Kind, info.Namespace, info.Name)
	if e, ok := s.recent.get(key, want); want != 0 && ok {
		code, _, err := s.tryUpdate(w, ctx, id, info, obj, e.kv, e.obj)
		return code, err
	}
	start := time.Now()
	// A local read is enough: the compare-and-swap below catches a stale
	// one, and a caller's newer resourceVersion forces a quorum read.
	kv, err := s.st.GetLocal(ctx, key)
	if err == nil && kv.Revision < want {
		kv, err = s.st.Get(ctx, key)
	}
	s.metrics.storeOp("get", start)
	if err == nil {
		kv, err = s.secrets.open(kv)
	}
	for {
		if err != nil {
			return 0, err
		}
		if want != 0 && kv.Revision != want {
			return 0, store.ErrConflict
		}
		code, next, err2 := s.tryUpdate(w, ctx, id, info, obj, kv, nil)
		if !errors.Is(err2, store.ErrConflict) || want != 0 || ctx.Err() != nil {
			return code, err2
		}
		kv, err = next, nil
		if kv == nil {
			err = store.ErrNotFound
		}
	}
}

// tryUpdate makes one compare-and-swap attempt against kv, whose decoded
// object is cached when not nil. On conflict it returns the current KV.
func (s *Server) tryUpdate(w http.ResponseWriter, ctx context.Context, id *Identity, info *requestInfo, in v1.Object, kv *store.KV, cached v1.Object) (int, *store.KV, error) {
	old := cached
	switch {
	case old == nil:
		var err error
		if old, err = decodeStored(info.Kind, kv); err != nil {
			return 0, nil, err
		}
	case info.Subresource == "status":
		old = v1.Clone(old) // a status update writes into old
	}
	obj, err := mergeForUpdate(info, old, in)
	if err != nil {
		return 0, nil, err
	}
	if err := authorizeObject(id, info, old.GetObjectMeta(), boundNode(id, kv.Value)); err != nil {
		return 0, nil, err
	}
	if info.Kind.Default != nil {
		info.Kind.Default(obj)
	}
	// Compared after defaulting, so leaving out a defaulted field is no
	// change.
	if info.Subresource == "" && specChanged(old, obj) {
		obj.GetObjectMeta().Generation = old.GetObjectMeta().Generation + 1
	}
	if !info.checked {
		if err := s.validate(info.Kind, old, obj); err != nil {
			return 0, nil, err
		}
	}
	b, err := encodeForStore(obj)
	if err != nil {
		return 0, nil, err
	}
	if bytes.Equal(b, kv.Value) {
		writeObject(w, http.StatusOK, kv.Value, kv.Revision)
		return http.StatusOK, nil, nil
	}
	m := obj.GetObjectMeta()
	if m.DeletionTimestamp != nil && len(m.Finalizers) == 0 && !gracePending(m) {
		// The last finalizer is gone: finish the deletion.
		s.recent.drop(kv.Key)
		prev, rev, err := s.st.Delete(ctx, kv.Key, kv.Revision)
		if err != nil {
			prev, _ = s.secrets.open(prev)
			return 0, prev, err
		}
		writeObject(w, http.StatusOK, b, rev)
		return http.StatusOK, nil, nil
	}
	start := time.Now()
	var rev int64
	var cur *store.KV
	err = s.secrets.sealed(kv.Key, b, func(stored []byte) (err error) {
		rev, cur, err = s.st.Update(ctx, kv.Key, stored, kv.Revision)
		return err
	})
	s.metrics.storeOp("update", start)
	if err != nil {
		s.recent.drop(kv.Key)
		cur, err2 := s.secrets.open(cur)
		if err2 != nil {
			return 0, nil, err2
		}
		return 0, cur, err
	}
	s.recent.put(kv.Key, b, rev, obj)
	writeObject(w, http.StatusOK, b, rev)
	return http.StatusOK, nil, nil
}

// mergeForUpdate builds the object to store from the old one and the
// caller's: system metadata is kept, a main-resource update keeps the old
// status, and a /status update keeps everything but the status.
func mergeForUpdate(info *requestInfo, old, in v1.Object) (v1.Object, error) {
	// Both objects were decoded for this request alone, so they are
	// modified in place.
	if info.Subresource == "status" {
		setField(old, "Status", in)
		return old, nil
	}
	obj := in
	om, m := old.GetObjectMeta(), obj.GetObjectMeta()
	m.UID, m.CreationTimestamp, m.Namespace, m.Name = om.UID, om.CreationTimestamp, om.Namespace, om.Name
	m.DeletionTimestamp, m.DeletionGracePeriodSeconds = om.DeletionTimestamp, om.DeletionGracePeriodSeconds
	m.GenerateName = om.GenerateName
	m.Generation = om.Generation
	if info.Kind.HasStatus {
		setField(obj, "Status", old)
	}
	return obj, nil
}

// setField copies the named top-level field from src to dst (same type).
func setField(dst v1.Object, field string, src v1.Object) {
	d := reflect.ValueOf(dst).Elem().FieldByName(field)
	sv := reflect.ValueOf(src).Elem().FieldByName(field)
	if d.IsValid() && sv.IsValid() && d.CanSet() {
		d.Set(sv)
	}
}

// specChanged compares every top-level field but type, metadata and status.
func specChanged(a, b v1.Object) bool {
	av, bv := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	t := av.Type()
	for i := 0; i < t.NumField(); i++ {
		switch t.Field(i).Name {
		case "TypeMeta", "ObjectMeta", "Status":
			continue
		}
		if !reflect.DeepEqual(av.Field(i).Interface(), bv.Field(i).Interface()) {
			return true
		}
	}
	return false
}

// boundNode is the node a stored pod is bound to; only node identities
// need it, so others skip the decode.
func boundNode(id *Identity, b []byte) string {
	if id.Role != RoleNode {
		return ""
	}
	return nodeNameOf(b)
}

func nodeNameOf(b []byte) string {
	o, err := decodeSelectable(b)
	if err != nil {
		return ""
	}
	return o.Spec.NodeName
}

// gracePending reports whether a graceful deletion still waits for its
// node to stop the pod.
func gracePending(m *v1.ObjectMeta) bool {
	return m.DeletionGracePeriodSeconds != nil && *m.DeletionGracePeriodSeconds > 0
}

func newUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"
