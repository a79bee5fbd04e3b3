package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// binding is the body of POST .../pods/{name}/binding, Kubernetes' v1
// Binding: the pod (its name and, as a precondition, its UID) and the
// node it goes to. Schedulers and scheduler extenders bind pods with it.
type binding struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Metadata   struct {
		Name      string `json:"name,omitempty"`
		Namespace string `json:"namespace,omitempty"`
		UID       string `json:"uid,omitempty"`
	} `json:"metadata"`
	Target struct {
		APIVersion string `json:"apiVersion,omitempty"`
		Kind       string `json:"kind,omitempty"`
		Name       string `json:"name"`
	} `json:"target"`
}

// maxBindAttempts bounds the retries of a binding whose pod changed
// between read and write (a status update from elsewhere).
const maxBindAttempts = 5

// bindPod sets an unbound pod's spec.nodeName, as Kubernetes' binding
// subresource does: 201 with a Success Status; 409 when the pod is bound
// already or is not the one the binding names (UID).
func (s *Server) bindPod(w http.ResponseWriter, ctx context.Context, id *Identity, info *requestInfo, body []byte) (int, error) {
	b, err := decodeBinding(info, body)
	if err != nil {
		return 0, err
	}
	podInfo := *info
	podInfo.Subresource, podInfo.Verb = "", verbUpdate
	podInfo.checked = true // only spec.nodeName changes, checked by decodeBinding
	key := s.key(info.Kind, info.Namespace, info.Name)
	// The pod as this server last wrote it is the likely current one (a
	// pod is usually bound right after its creation): tried first,
	// without a read or a decode; the compare-and-swap catches a stale
	// guess, and the retry reads etcd.
	var kv *store.KV
	var cached v1.Object
	if e, ok := s.recent.latest(key); ok {
		kv, cached = e.kv, e.obj
	} else if kv, err = s.st.GetLocal(ctx, key); err == nil {
		kv, err = s.secrets.open(kv)
	}
	for attempt := 0; err == nil; attempt++ {
		if cached == nil {
			if cached, err = decodeStored(info.Kind, kv); err != nil {
				return 0, err
			}
		}
		pod := v1.Clone(cached.(*v1.Pod))
		switch {
		case b.Metadata.UID != "" && b.Metadata.UID != pod.UID:
			return 0, v1.NewError(v1.ReasonConflict, "pod %s/%s has UID %s, the binding names %s", pod.Namespace, pod.Name, pod.UID, b.Metadata.UID)
		case pod.Spec.NodeName != "":
			return 0, v1.NewError(v1.ReasonConflict, "pod %s/%s is already assigned to node %q", pod.Namespace, pod.Name, pod.Spec.NodeName)
		case pod.DeletionTimestamp != nil:
			return 0, v1.NewError(v1.ReasonConflict, "pod %s/%s is being deleted", pod.Namespace, pod.Name)
		}
		pod.Spec.NodeName = b.Target.Name
		var next *store.KV
		_, next, err = s.tryUpdate(discard{}, ctx, id, &podInfo, pod, kv, cached)
		if err == nil {
			writeJSON(w, http.StatusCreated, v1.Status{TypeMeta: v1.TypeMeta{APIVersion: "v1", Kind: "Status"},
				Status: "Success", Code: http.StatusCreated})
			return http.StatusCreated, nil
		}
		if !errors.Is(err, store.ErrConflict) || next == nil || attempt+1 >= maxBindAttempts {
			return 0, err
		}
		kv, cached, err = next, nil, nil
	}
	return 0, err
}

// decodeBinding strictly decodes and checks a binding for the pod of the
// URL.
func decodeBinding(info *requestInfo, body []byte) (*binding, error) {
	var b binding
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, v1.NewError(v1.ReasonBadRequest, "binding: %v", err)
	}
	var errs v1.FieldErrors
	if b.Kind != "" && b.Kind != "Binding" {
		errs = append(errs, v1.FieldError{Type: v1.FieldInvalid, Field: "kind", Detail: `must be "Binding", got ` + quote(b.Kind)})
	}
	if b.Metadata.Name != "" && b.Metadata.Name != info.Name {
		errs = append(errs, v1.FieldError{Type: v1.FieldInvalid, Field: "metadata.name", Detail: quote(b.Metadata.Name) + " is not the pod of the URL, " + quote(info.Name)})
	}
	if b.Metadata.Namespace != "" && b.Metadata.Namespace != info.Namespace {
		errs = append(errs, v1.FieldError{Type: v1.FieldInvalid, Field: "metadata.namespace", Detail: quote(b.Metadata.Namespace) + " is not the namespace of the URL, " + quote(info.Namespace)})
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, v1.FieldError{Type: v1.FieldInvalid, Field: "target.kind", Detail: `must be "Node", got ` + quote(b.Target.Kind)})
	}
	if b.Target.Name == "" {
		errs = append(errs, v1.FieldError{Type: v1.FieldRequired, Field: "target.name", Detail: "the node to bind the pod to is required"})
	} else if msgs := validation.IsDNS1123Subdomain(b.Target.Name); len(msgs) > 0 {
		errs = append(errs, v1.FieldError{Type: v1.FieldInvalid, Field: "target.name", Detail: quote(b.Target.Name) + " is not a node name: " + strings.Join(msgs, "; ")})
	}
	if len(errs) > 0 {
		return nil, v1.NewInvalid("Binding", info.Name, errs)
	}
	return &b, nil
}

// discard is a ResponseWriter that drops what the shared update path
// writes; the binding answers with its own Status.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
