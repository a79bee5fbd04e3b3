package apiserver

import (
	"net/http"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// Verbs, as Kubernetes names them.
const (
	verbGet    = "get"
	verbList   = "list"
	verbWatch  = "watch"
	verbCreate = "create"
	verbUpdate = "update"
	verbPatch  = "patch"
	verbDelete = "delete"
)

// requestInfo is what a resource request is about.
type requestInfo struct {
	Verb        string
	Kind        *v1.Kind
	Namespace   string // "" for cluster-scoped kinds or all namespaces
	Name        string
	Subresource string // "", "status", or for pods "log", "exec" and "binding"
	// checked is set by a handler that makes the change itself and has
	// checked it: the object is then not validated again as a whole (a
	// binding sets only spec.nodeName of a pod validated when written).
	checked bool
}

// Subresources of pods that the API server proxies to the pod's node
// agent, and the binding a scheduler (or an extender) posts.
const (
	subresourceLog     = "log"
	subresourceExec    = "exec"
	subresourceBinding = "binding"
)

// binding reports whether the request binds a pod to a node.
func (info *requestInfo) binding() bool {
	return info.Kind.Resource == "pods" && info.Subresource == subresourceBinding
}

// proxied reports whether the request is served by the pod's node agent.
func (info *requestInfo) proxied() bool {
	return info.Kind.Resource == "pods" && (info.Subresource == subresourceLog || info.Subresource == subresourceExec)
}

// parseRequest routes /api/v1/... paths:
//
//	/api/v1/{resource}[/{name}[/status]]
//	/api/v1/namespaces/{ns}/{resource}[/{name}[/status]]
//	/api/v1/namespaces/{ns}/pods/{name}/log   (GET)
//	/api/v1/namespaces/{ns}/pods/{name}/exec  (POST)
//	/api/v1/namespaces/{ns}/pods/{name}/binding  (POST)
func parseRequest(reg *v1.Registry, r *http.Request) (*requestInfo, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/")
	if !ok {
		return nil, v1.NewError(v1.ReasonNotFound, "the path %q is not served", r.URL.Path)
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	info := &requestInfo{}
	// "namespaces/{ns}/{resource}..." names a namespaced resource; a
	// shorter path under namespaces is the Namespace object itself.
	if len(parts) >= 3 && parts[0] == "namespaces" && !(len(parts) == 3 && parts[2] == "status") {
		info.Namespace = parts[1]
		parts = parts[2:]
	}
	if len(parts) == 0 || len(parts) > 3 || parts[0] == "" {
		return nil, v1.NewError(v1.ReasonNotFound, "the path %q is not served", r.URL.Path)
	}
	kind, ok := reg.ByResource(parts[0])
	if !ok {
		return nil, v1.NewError(v1.ReasonNotFound, "the server does not serve resource %q", parts[0])
	}
	info.Kind = kind
	if info.Namespace != "" && !kind.Namespaced {
		return nil, v1.NewError(v1.ReasonNotFound, "%s are not namespaced", kind.Resource)
	}
	if len(parts) >= 2 {
		info.Name = parts[1]
	}
	if len(parts) == 3 {
		info.Subresource = parts[2]
		if !(parts[2] == "status" && kind.HasStatus) && !info.proxied() && !info.binding() {
			return nil, v1.NewError(v1.ReasonNotFound, "%s has no subresource %q", kind.Resource, parts[2])
		}
	}
	if kind.Namespaced && info.Name != "" && info.Namespace == "" {
		return nil, v1.NewError(v1.ReasonNotFound, "%s are namespaced: use /api/v1/namespaces/{namespace}/%s/%s", kind.Resource, kind.Resource, info.Name)
	}
	info.Verb = verbFor(r, info)
	if info.Verb == "" {
		return nil, v1.NewError(v1.ReasonMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path)
	}
	return info, nil
}

func verbFor(r *http.Request, info *requestInfo) string {
	named := info.Name != ""
	// Kubernetes authorizes reading a log as get and starting a command
	// as create.
	switch {
	case info.Subresource == subresourceLog:
		return methodVerb(r.Method == http.MethodGet, verbGet)
	case info.Subresource == subresourceExec, info.Subresource == subresourceBinding:
		return methodVerb(r.Method == http.MethodPost, verbCreate)
	}
	switch r.Method {
	case http.MethodGet:
		switch {
		case named && info.Subresource == "":
			return verbGet
		case named:
			return verbGet
		case isTrue(r.URL.Query().Get("watch")):
			return verbWatch
		default:
			return verbList
		}
	case http.MethodPost:
		if !named {
			return verbCreate
		}
	case http.MethodPut:
		if named {
			return verbUpdate
		}
	case http.MethodPatch:
		if named {
			return verbPatch
		}
	case http.MethodDelete:
		if named && info.Subresource == "" {
			return verbDelete
		}
	}
	return ""
}

func methodVerb(allowed bool, verb string) string {
	if allowed {
		return verb
	}
	return ""
}

func isTrue(s string) bool { return s == "1" || s == "true" }
