package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// configTTL is how long a read ConfigMap or Secret is reused: pods with
// many references, and the periodic refresh of mounted files, cost at most
// one read per object per interval.
const configTTL = time.Second

// configSource reads the ConfigMaps and Secrets pods reference.
type configSource struct {
	c     *client.Client
	mu    sync.Mutex
	cache map[string]cachedConfig
}

type cachedConfig struct {
	obj v1.Object
	err error
	at  time.Time
}

func newConfigSource(c *client.Client) *configSource {
	return &configSource{c: c, cache: map[string]cachedConfig{}}
}

// get returns the ConfigMap or Secret (kind "configmap" or "secret"), or
// nil when it does not exist.
func (s *configSource) get(ctx context.Context, kind, ns, name string) (v1.Object, error) {
	key := kind + "/" + ns + "/" + name
	s.mu.Lock()
	if e, ok := s.cache[key]; ok && time.Since(e.at) < configTTL {
		s.mu.Unlock()
		return e.obj, e.err
	}
	s.mu.Unlock()
	var obj v1.Object
	var err error
	switch kind {
	case "configmap":
		obj, err = client.For[*v1.ConfigMap](s.c, ns).Get(ctx, name)
	case "secret":
		obj, err = client.For[*v1.Secret](s.c, ns).Get(ctx, name)
	default:
		return nil, fmt.Errorf("agent: unknown config kind %q", kind)
	}
	if v1.IsNotFound(err) {
		obj, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[key] = cachedConfig{obj: obj, at: time.Now()}
	if len(s.cache) > 4096 {
		for k, e := range s.cache {
			if time.Since(e.at) >= configTTL {
				delete(s.cache, k)
			}
		}
	}
	s.mu.Unlock()
	return obj, nil
}

// podConfig is what one pod takes from ConfigMaps and Secrets, read once
// per sync.
type podConfig struct {
	configMaps map[string]*v1.ConfigMap // nil value: missing
	secrets    map[string]*v1.Secret
}

// missingError says which referenced object or key is missing; the pod
// waits for it rather than start half-configured.
type missingError struct{ what string }

func (e *missingError) Error() string { return e.what }

// resolveConfig reads every ConfigMap and Secret the pod references. A
// missing one that is not optional is a *missingError.
func (a *Agent) resolveConfig(ctx context.Context, pod *v1.Pod) (*podConfig, error) {
	pc := &podConfig{configMaps: map[string]*v1.ConfigMap{}, secrets: map[string]*v1.Secret{}}
	need := func(kind, name string, optional *bool) error {
		if name == "" {
			return nil
		}
		obj, err := a.config.get(ctx, kind, pod.Namespace, name)
		if err != nil {
			return err
		}
		if obj == nil && (optional == nil || !*optional) {
			return &missingError{fmt.Sprintf("%s %q not found", kindName(kind), name)}
		}
		switch o := obj.(type) {
		case *v1.ConfigMap:
			pc.configMaps[name] = o
		case *v1.Secret:
			pc.secrets[name] = o
		}
		return nil
	}
	for _, ref := range configRefs(pod) {
		if err := need(ref.kind, ref.name, ref.optional); err != nil {
			return nil, err
		}
	}
	return pc, nil
}

func kindName(kind string) string {
	if kind == "configmap" {
		return "configmap"
	}
	return "secret"
}

type configRef struct {
	kind, name string
	optional   *bool
}

// configRefs lists every ConfigMap and Secret the pod's volumes and its
// containers' env and envFrom name.
func configRefs(pod *v1.Pod) []configRef {
	var refs []configRef
	for _, v := range pod.Spec.Volumes {
		if cm := v.ConfigMap; cm != nil {
			refs = append(refs, configRef{"configmap", cm.Name, cm.Optional})
		}
		if s := v.Secret; s != nil {
			refs = append(refs, configRef{"secret", s.SecretName, s.Optional})
		}
	}
	for _, c := range append(append([]v1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				refs = append(refs, configRef{"configmap", e.ConfigMapRef.Name, e.ConfigMapRef.Optional})
			}
			if e.SecretRef != nil {
				refs = append(refs, configRef{"secret", e.SecretRef.Name, e.SecretRef.Optional})
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				refs = append(refs, configRef{"configmap", r.Name, r.Optional})
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				refs = append(refs, configRef{"secret", r.Name, r.Optional})
			}
		}
	}
	return refs
}

// configMapValue and secretValue look a key up; ok is false when the
// object or the key is missing.
func (pc *podConfig) configMapValue(name, key string) (string, bool) {
	cm := pc.configMaps[name]
	if cm == nil {
		return "", false
	}
	if v, ok := cm.Data[key]; ok {
		return v, true
	}
	if v, ok := cm.BinaryData[key]; ok {
		return string(v), true
	}
	return "", false
}

func (pc *podConfig) secretValue(name, key string) (string, bool) {
	s := pc.secrets[name]
	if s == nil {
		return "", false
	}
	v, ok := s.Data[key]
	return string(v), ok
}

// configRefresh is how often a pod with ConfigMap or Secret volumes, or
// one waiting for a missing reference, looks again.
const configRefresh = 2 * time.Second

// syncConfig reads what the pod needs from ConfigMaps and Secrets and
// writes its volumes. While something it needs is missing, nothing of the
// pod starts (running containers go on) and an event names what is
// missing. It returns when to look again.
func (w *podWorker) syncConfig(ctx context.Context, pod *v1.Pod) time.Time {
	refs := configRefs(pod)
	if len(refs) == 0 && len(pod.Spec.Volumes) == 0 {
		w.pc = &podConfig{}
		return time.Time{}
	}
	next := w.a.cfg.Clock.Now().Add(configRefresh)
	pc, err := w.a.resolveConfig(ctx, pod)
	if err == nil {
		err = w.syncVolumes(ctx, pod, pc)
	}
	if err != nil {
		w.pc = nil
		msg := err.Error()
		if msg != w.lastConfigErr {
			w.a.log.Info("pod waits for its configuration", "pod", v1.ObjectKey(pod), "reason", msg)
			w.a.event(ctx, pod, v1.EventTypeWarning, "Failed", "Error: "+msg)
		}
		w.lastConfigErr = msg
		return next
	}
	w.pc, w.lastConfigErr = pc, ""
	return next
}
