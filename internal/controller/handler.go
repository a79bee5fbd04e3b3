package controller

import (
	"fmt"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// EventHandler receives an informer's notifications. The client package's
// informers call these methods; the runtime's handlers only turn objects into
// keys and enqueue them, so they never block an informer.
type EventHandler interface {
	OnAdd(obj any)
	OnUpdate(oldObj, newObj any)
	OnDelete(obj any)
}

// KeyFunc is the default key of an object: "namespace/name", or "name" for
// a cluster-scoped object. ok is false when obj carries no metadata or no
// name.
func KeyFunc(obj any) (key string, ok bool) {
	o, isObj := obj.(interface{ GetObjectMeta() *v1.ObjectMeta })
	if !isObj {
		return "", false
	}
	m := o.GetObjectMeta()
	if m == nil || m.Name == "" {
		return "", false
	}
	if m.Namespace == "" {
		return m.Name, true
	}
	return m.Namespace + "/" + m.Name, true
}

// SplitKey splits a key made by KeyFunc into namespace (empty when
// cluster-scoped) and name.
func SplitKey(key string) (namespace, name string, err error) {
	parts := strings.Split(key, "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return "", parts[0], nil
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return parts[0], parts[1], nil
	}
	return "", "", fmt.Errorf("controller: malformed key %q: want \"name\" or \"namespace/name\"", key)
}

// Handler returns an EventHandler that enqueues the key of every object it
// is told about: the new object on update, the last known state on delete.
// keyFunc nil means KeyFunc. Objects without a key are logged and dropped.
func (c *Controller) Handler(keyFunc func(obj any) (string, bool)) EventHandler {
	if keyFunc == nil {
		keyFunc = KeyFunc
	}
	return &enqueueHandler{c: c, key: keyFunc}
}

type enqueueHandler struct {
	c   *Controller
	key func(obj any) (string, bool)
}

var _ EventHandler = (*enqueueHandler)(nil)

func (h *enqueueHandler) OnAdd(obj any)          { h.enqueue("add", obj) }
func (h *enqueueHandler) OnUpdate(_, newObj any) { h.enqueue("update", newObj) }
func (h *enqueueHandler) OnDelete(obj any)       { h.enqueue("delete", obj) }
func (h *enqueueHandler) enqueue(event string, obj any) {
	key, ok := h.key(obj)
	if !ok {
		h.c.logger().Warn("dropping event for object without a key", "event", event, "type", fmt.Sprintf("%T", obj))
		return
	}
	h.c.Enqueue(key)
}
