package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// ListOptions narrows a list or watch.
type ListOptions struct {
	LabelSelector string
	FieldSelector string
	// Limit pages a list; Continue resumes it.
	Limit    int64
	Continue string
	// ResourceVersion: for a watch, the revision after which to stream
	// events ("" streams the current objects first).
	ResourceVersion string
	// TimeoutSeconds ends a watch after this long (0: never).
	TimeoutSeconds int
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.LabelSelector != "" {
		q.Set("labelSelector", o.LabelSelector)
	}
	if o.FieldSelector != "" {
		q.Set("fieldSelector", o.FieldSelector)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.FormatInt(o.Limit, 10))
	}
	if o.Continue != "" {
		q.Set("continue", o.Continue)
	}
	if o.ResourceVersion != "" {
		q.Set("resourceVersion", o.ResourceVersion)
	}
	if o.TimeoutSeconds > 0 {
		q.Set("timeoutSeconds", strconv.Itoa(o.TimeoutSeconds))
	}
	return q
}

// DeleteOptions control a delete, as in Kubernetes.
type DeleteOptions struct {
	// PropagationPolicy: "Background" (default), "Foreground" or "Orphan".
	PropagationPolicy  string         `json:"propagationPolicy,omitempty"`
	GracePeriodSeconds *int64         `json:"gracePeriodSeconds,omitempty"`
	Preconditions      *Preconditions `json:"preconditions,omitempty"`
}

// Preconditions make a delete conditional.
type Preconditions struct {
	UID             *string `json:"uid,omitempty"`
	ResourceVersion *string `json:"resourceVersion,omitempty"`
}

// ObjectList is one page of a list.
type ObjectList[T v1.Object] struct {
	Items           []T
	ResourceVersion string
	Continue        string
}

// Resource is a typed client for one kind in one namespace ("" for
// cluster-scoped kinds, or for every namespace when listing).
type Resource[T v1.Object] struct {
	c    *Client
	kind *v1.Kind
	ns   string
	new  func() T
}

// For returns the client of the kind whose Go type is T (a pointer type
// such as *v1.Pod). It panics if T is not a registered kind, which is a
// programming error.
func For[T v1.Object](c *Client, namespace string) *Resource[T] {
	t := reflect.TypeFor[T]()
	for _, k := range c.reg.All() {
		if reflect.TypeOf(k.New()) == t {
			return &Resource[T]{c: c, kind: k, ns: namespace, new: func() T { return k.New().(T) }}
		}
	}
	panic(fmt.Sprintf("client: %v is not a registered kind", t))
}

// ForKind returns an untyped client for kind, for tools that handle any
// kind (the CLI).
func ForKind(c *Client, kind *v1.Kind, namespace string) *Resource[v1.Object] {
	return &Resource[v1.Object]{c: c, kind: kind, ns: namespace, new: kind.New}
}

// Kind is the kind this client serves.
func (r *Resource[T]) Kind() *v1.Kind { return r.kind }

// Namespace returns a copy of the client bound to namespace ns.
func (r *Resource[T]) Namespace(ns string) *Resource[T] {
	cp := *r
	cp.ns = ns
	return &cp
}

func (r *Resource[T]) path(name, sub string) string {
	p := "/api/v1/"
	if r.kind.Namespaced && r.ns != "" {
		p += "namespaces/" + url.PathEscape(r.ns) + "/"
	}
	p += r.kind.Resource
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	if sub != "" {
		p += "/" + sub
	}
	return p
}

func (r *Resource[T]) decode(b []byte) (T, error) {
	obj := r.new()
	if err := json.Unmarshal(b, obj); err != nil {
		var zero T
		return zero, fmt.Errorf("client: decode %s: %w", r.kind.Kind, err)
	}
	return obj, nil
}

func (r *Resource[T]) do(ctx context.Context, method, path string, in any, contentType string) (T, error) {
	var body []byte
	if in != nil {
		var err error
		if raw, ok := in.([]byte); ok {
			body = raw
		} else if body, err = json.Marshal(in); err != nil {
			var zero T
			return zero, fmt.Errorf("client: encode %s: %w", r.kind.Kind, err)
		}
	}
	b, err := r.c.Do(ctx, method, path, body, contentType)
	if err != nil {
		var zero T
		return zero, err
	}
	return r.decode(b)
}

// Get reads one object.
func (r *Resource[T]) Get(ctx context.Context, name string) (T, error) {
	return r.do(ctx, http.MethodGet, r.path(name, ""), nil, "")
}

// Create creates obj; the server fills uid, resourceVersion and defaults.
func (r *Resource[T]) Create(ctx context.Context, obj T) (T, error) {
	r.setType(obj)
	return r.do(ctx, http.MethodPost, r.nsPath(obj, ""), obj, "")
}

// Update replaces obj if its resourceVersion is current (v1.IsConflict
// otherwise). The status is kept; use UpdateStatus to change it.
func (r *Resource[T]) Update(ctx context.Context, obj T) (T, error) {
	r.setType(obj)
	return r.do(ctx, http.MethodPut, r.nsPath(obj, obj.GetObjectMeta().Name), obj, "")
}

// UpdateStatus replaces only the status of obj.
func (r *Resource[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	r.setType(obj)
	return r.do(ctx, http.MethodPut, r.nsPath(obj, obj.GetObjectMeta().Name)+"/status", obj, "")
}

// Patch applies a JSON merge patch (RFC 7386) to the named object.
func (r *Resource[T]) Patch(ctx context.Context, name string, patch []byte) (T, error) {
	return r.do(ctx, http.MethodPatch, r.path(name, ""), patch, "application/merge-patch+json")
}

// PatchStatus applies a JSON merge patch to the named object's status.
func (r *Resource[T]) PatchStatus(ctx context.Context, name string, patch []byte) (T, error) {
	return r.do(ctx, http.MethodPatch, r.path(name, "status"), patch, "application/merge-patch+json")
}

// Delete deletes the named object. The result is the object as last
// stored: with a deletionTimestamp when finalizers or a grace period delay
// its removal.
func (r *Resource[T]) Delete(ctx context.Context, name string, opts DeleteOptions) (T, error) {
	return r.do(ctx, http.MethodDelete, r.path(name, ""), opts, "")
}

// List reads one page of objects.
func (r *Resource[T]) List(ctx context.Context, opts ListOptions) (*ObjectList[T], error) {
	p := r.path("", "")
	if q := opts.query().Encode(); q != "" {
		p += "?" + q
	}
	b, err := r.c.Do(ctx, http.MethodGet, p, nil, "")
	if err != nil {
		return nil, err
	}
	var l v1.List
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("client: decode %sList: %w", r.kind.Kind, err)
	}
	out := &ObjectList[T]{ResourceVersion: l.Metadata.ResourceVersion, Continue: l.Metadata.Continue, Items: make([]T, 0, len(l.Items))}
	for _, raw := range l.Items {
		obj, err := r.decode(raw)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, obj)
	}
	return out, nil
}

// ListAll follows continue tokens to the end; every page is read at one
// revision, which is returned.
func (r *Resource[T]) ListAll(ctx context.Context, opts ListOptions) (*ObjectList[T], error) {
	all := &ObjectList[T]{}
	for {
		page, err := r.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		all.Items = append(all.Items, page.Items...)
		all.ResourceVersion = page.ResourceVersion
		if page.Continue == "" {
			return all, nil
		}
		opts.Continue = page.Continue
	}
}

func (r *Resource[T]) setType(obj T) {
	*obj.GetTypeMeta() = v1.TypeMeta{APIVersion: r.kind.APIVersion(), Kind: r.kind.Kind}
}

// nsPath is the path for obj, taking the namespace from the object when
// the client has none.
func (r *Resource[T]) nsPath(obj T, name string) string {
	if r.kind.Namespaced && r.ns == "" {
		return r.Namespace(obj.GetObjectMeta().Namespace).path(name, "")
	}
	return r.path(name, "")
}
