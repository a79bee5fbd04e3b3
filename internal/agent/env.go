package agent

import (
	"fmt"
	"os"
	"sort"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// containerEnv is a container's environment in order: what every pod gets
// (PATH, HOSTNAME, POD_NAME, POD_NAMESPACE, POD_IP, NODE_NAME), then the
// container's env, each value $(VAR)-expanded against what came before.
func containerEnv(pod *v1.Pod, c *v1.Container, podIP, hostname string, pc *podConfig) ([]string, map[string]string, error) {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	set("PATH", path)
	set("HOME", "/")
	set("HOSTNAME", hostname)
	set("POD_NAME", pod.Name)
	set("POD_NAMESPACE", pod.Namespace)
	set("POD_IP", podIP)
	set("NODE_NAME", pod.Spec.NodeName)
	// envFrom first; env, later, wins over it.
	for _, src := range c.EnvFrom {
		for _, kv := range envFromSource(src, pc) {
			set(src.Prefix+kv[0], kv[1])
		}
	}
	for i, e := range c.Env {
		val := expand(e.Value, vars)
		if e.ValueFrom != nil {
			v, ok, err := envSource(pod, c, e.ValueFrom, podIP, pc)
			if err != nil {
				return nil, nil, fmt.Errorf("env[%d] %s: %w", i, e.Name, err)
			}
			if !ok {
				continue // an optional reference that is missing
			}
			val = v
		}
		set(e.Name, val)
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	return env, vars, nil
}

// envSource resolves valueFrom: the downward API (fieldRef,
// resourceFieldRef) and keys of ConfigMaps and Secrets. ok is false for an
// optional key that is missing; a missing key that is not optional is a
// *missingError.
func envSource(pod *v1.Pod, c *v1.Container, src *v1.EnvVarSource, podIP string, pc *podConfig) (string, bool, error) {
	switch {
	case src.FieldRef != nil:
		v, err := fieldRef(pod, src.FieldRef.FieldPath, podIP)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		v, err := resourceFieldRef(pod, c, src.ResourceFieldRef)
		return v, err == nil, err
	case src.ConfigMapKeyRef != nil:
		r := src.ConfigMapKeyRef
		v, ok := pc.configMapValue(r.Name, r.Key)
		return v, ok, keyErr(ok, r.Optional, "configmap", r.Name, r.Key)
	case src.SecretKeyRef != nil:
		r := src.SecretKeyRef
		v, ok := pc.secretValue(r.Name, r.Key)
		return v, ok, keyErr(ok, r.Optional, "secret", r.Name, r.Key)
	}
	return "", false, fmt.Errorf("valueFrom names no source")
}

// keyErr names a missing key (never a value).
func keyErr(found bool, optional *bool, kind, name, key string) error {
	if found || (optional != nil && *optional) {
		return nil
	}
	return &missingError{fmt.Sprintf("key %q not found in %s %q", key, kind, name)}
}

// envFromSource lists a ConfigMap's or Secret's keys and values in key
// order; keys that cannot be variable names (they hold '=') are skipped.
func envFromSource(src v1.EnvFromSource, pc *podConfig) [][2]string {
	var kvs [][2]string
	add := func(k, v string) {
		if k != "" && !strings.Contains(k, "=") {
			kvs = append(kvs, [2]string{k, v})
		}
	}
	switch {
	case src.ConfigMapRef != nil:
		if cm := pc.configMaps[src.ConfigMapRef.Name]; cm != nil {
			for k, v := range cm.Data {
				add(k, v)
			}
		}
	case src.SecretRef != nil:
		if s := pc.secrets[src.SecretRef.Name]; s != nil {
			for k, v := range s.Data {
				add(k, string(v))
			}
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i][0] < kvs[j][0] })
	return kvs
}

// fieldRef implements the downward API's fieldPath values.
func fieldRef(pod *v1.Pod, path, podIP string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return podIP, nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if key, ok := strings.CutPrefix(path, prefix+"['"); ok {
			if key, ok = strings.CutSuffix(key, "']"); ok {
				return m[key], nil
			}
		}
	}
	return "", fmt.Errorf("fieldPath %q is not supported (want metadata.name, metadata.namespace, metadata.uid, metadata.labels['KEY'], metadata.annotations['KEY'], spec.nodeName, spec.serviceAccountName, status.podIP or status.hostIP)", path)
}

func resourceFieldRef(pod *v1.Pod, c *v1.Container, ref *v1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" {
		c = nil
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Name == ref.ContainerName {
				c = &pod.Spec.Containers[i]
			}
		}
		if c == nil {
			return "", fmt.Errorf("resourceFieldRef: no container %q", ref.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	var list v1.ResourceList
	switch {
	case ok && kind == "limits":
		list = c.Resources.Limits
	case ok && kind == "requests":
		list = c.Resources.Requests
	default:
		return "", fmt.Errorf("resourceFieldRef: resource %q is not limits.X or requests.X", ref.Resource)
	}
	q, found := list[name]
	if !found {
		return "0", nil
	}
	divisor := resource.MustParse("1")
	if ref.Divisor != nil && !ref.Divisor.IsZero() {
		divisor = *ref.Divisor
	}
	// Round up, as Kubernetes does: 250m of CPU with divisor 1 is "1".
	v := (q.MilliValue() + divisor.MilliValue() - 1) / divisor.MilliValue()
	return fmt.Sprint(v), nil
}

// expand replaces $(VAR) with the value of VAR when VAR is defined, leaves
// undefined references as they are, and turns $$ into $, following
// Kubernetes' rules for command, args and env values.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
