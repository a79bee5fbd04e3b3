package v1

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// containerContext is what a container's validation needs to know about
// the rest of its pod.
type containerContext struct {
	volumes map[string]bool // volume names mounts may refer to
	names   map[string]bool // container names seen so far
	ports   map[string]bool // port names seen so far
	init    bool            // validating an init container
}

func validateContainer(c *Container, p fieldPath, ctx *containerContext) FieldErrors {
	var errs FieldErrors
	if c.Name == "" {
		errs = append(errs, Required(p.Child("name").String(), ""))
	} else {
		errs = append(errs, invalidMsgs(p.Child("name"), c.Name, validation.IsDNS1123Label(c.Name))...)
		if ctx.names[c.Name] {
			errs = append(errs, Duplicate(p.Child("name").String(), c.Name))
		}
		ctx.names[c.Name] = true
	}
	// The process runtime runs command[0] when there is no image, so
	// either one names what to run.
	if c.Image == "" && len(c.Command) == 0 {
		errs = append(errs, Required(p.Child("image").String(), "image or command is required"))
	}
	errs = append(errs, validateContainerPorts(c.Ports, p.Child("ports"), ctx.ports)...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	errs = append(errs, validateResources(c.Resources.Requests, c.Resources.Limits, p.Child("resources"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, p.Child("volumeMounts"), ctx.volumes)...)
	probes := []struct {
		name          string
		probe         *Probe
		oneSuccessful bool
	}{
		{"livenessProbe", c.LivenessProbe, true},
		{"readinessProbe", c.ReadinessProbe, false},
		{"startupProbe", c.StartupProbe, true},
	}
	for _, pr := range probes {
		if pr.probe == nil {
			continue
		}
		if ctx.init {
			errs = append(errs, Forbidden(p.Child(pr.name).String(), "may not be set for init containers"))
			continue
		}
		errs = append(errs, validateProbe(pr.probe, p.Child(pr.name), pr.oneSuccessful)...)
	}
	errs = append(errs, optionalEnum(p.Child("imagePullPolicy"), c.ImagePullPolicy, PullAlways, PullNever, PullIfNotPresent)...)
	if sc := c.SecurityContext; sc != nil {
		q := p.Child("securityContext")
		errs = append(errs, nonNegativePtr(q.Child("runAsUser"), sc.RunAsUser)...)
		errs = append(errs, nonNegativePtr(q.Child("runAsGroup"), sc.RunAsGroup)...)
	}
	return errs
}

func validateContainerPorts(ports []ContainerPort, p fieldPath, names map[string]bool) FieldErrors {
	var errs FieldErrors
	for i, port := range ports {
		q := p.Index(i)
		if port.Name != "" {
			errs = append(errs, invalidMsgs(q.Child("name"), port.Name, validation.IsValidPortName(port.Name))...)
			if names[port.Name] {
				errs = append(errs, Duplicate(q.Child("name").String(), port.Name))
			}
			names[port.Name] = true
		}
		errs = append(errs, invalidMsgs(q.Child("containerPort"), port.ContainerPort, validation.IsValidPortNum(int(port.ContainerPort)))...)
		if port.HostPort != 0 {
			errs = append(errs, invalidMsgs(q.Child("hostPort"), port.HostPort, validation.IsValidPortNum(int(port.HostPort)))...)
		}
		errs = append(errs, optionalEnum(q.Child("protocol"), port.Protocol, ProtocolTCP, ProtocolUDP, ProtocolSCTP)...)
	}
	return errs
}

// podFieldPaths are the pod fields an environment variable may take.
var podFieldPaths = []string{
	"metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels", "metadata.annotations",
	"spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
}

// containerResourcePaths are the resources resourceFieldRef may take.
var containerResourcePaths = []string{
	"limits.cpu", "limits.memory", "limits.ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.ephemeral-storage",
}

func validateEnv(env []EnvVar, p fieldPath) FieldErrors {
	var errs FieldErrors
	for i, e := range env {
		q := p.Index(i)
		if e.Name == "" {
			errs = append(errs, Required(q.Child("name").String(), ""))
		} else {
			errs = append(errs, invalidMsgs(q.Child("name"), e.Name, validation.IsRelaxedEnvVarName(e.Name))...)
		}
		if e.ValueFrom != nil {
			if e.Value != "" {
				errs = append(errs, Invalid(q.Child("valueFrom").String(), "", "may not be specified when `value` is not empty"))
			}
			errs = append(errs, validateEnvSource(e.ValueFrom, q.Child("valueFrom"))...)
		}
	}
	return errs
}

func validateEnvSource(s *EnvVarSource, p fieldPath) FieldErrors {
	var errs FieldErrors
	n := 0
	if f := s.FieldRef; f != nil {
		n++
		q := p.Child("fieldRef")
		errs = append(errs, optionalEnum(q.Child("apiVersion"), f.APIVersion, "v1")...)
		path := f.FieldPath
		if i := strings.Index(path, "['"); i > 0 && strings.HasSuffix(path, "']") &&
			(path[:i] == "metadata.labels" || path[:i] == "metadata.annotations") {
			path = path[:i]
		}
		if f.FieldPath == "" {
			errs = append(errs, Required(q.Child("fieldPath").String(), ""))
		} else if !contains(podFieldPaths, path) {
			errs = append(errs, NotSupported(q.Child("fieldPath").String(), f.FieldPath, podFieldPaths...))
		}
	}
	if r := s.ResourceFieldRef; r != nil {
		n++
		q := p.Child("resourceFieldRef")
		if r.Resource == "" {
			errs = append(errs, Required(q.Child("resource").String(), ""))
		} else if !contains(containerResourcePaths, r.Resource) {
			errs = append(errs, NotSupported(q.Child("resource").String(), r.Resource, containerResourcePaths...))
		}
		if r.Divisor != nil && r.Divisor.Sign() <= 0 {
			errs = append(errs, Invalid(q.Child("divisor").String(), r.Divisor.String(), "must be greater than 0"))
		}
	}
	if r := s.ConfigMapKeyRef; r != nil {
		n++
		errs = append(errs, validateKeySelector(r.Name, r.Key, p.Child("configMapKeyRef"))...)
	}
	if r := s.SecretKeyRef; r != nil {
		n++
		errs = append(errs, validateKeySelector(r.Name, r.Key, p.Child("secretKeyRef"))...)
	}
	if n != 1 {
		errs = append(errs, Invalid(p.String(), "", "must specify exactly one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	}
	return errs
}

func validateKeySelector(name, key string, p fieldPath) FieldErrors {
	errs := requiredName(p.Child("name"), name, dnsSubdomain)
	if key == "" {
		return append(errs, Required(p.Child("key").String(), ""))
	}
	return append(errs, invalidMsgs(p.Child("key"), key, validation.IsConfigMapKey(key))...)
}

func validateEnvFrom(srcs []EnvFromSource, p fieldPath) FieldErrors {
	var errs FieldErrors
	for i, s := range srcs {
		q := p.Index(i)
		if s.Prefix != "" {
			errs = append(errs, invalidMsgs(q.Child("prefix"), s.Prefix, validation.IsRelaxedEnvVarName(s.Prefix))...)
		}
		switch {
		case (s.ConfigMapRef == nil) == (s.SecretRef == nil):
			errs = append(errs, Invalid(q.String(), "", "must specify exactly one of: `configMapRef` or `secretRef`"))
		case s.ConfigMapRef != nil:
			errs = append(errs, requiredName(q.Child("configMapRef", "name"), s.ConfigMapRef.Name, dnsSubdomain)...)
		default:
			errs = append(errs, requiredName(q.Child("secretRef", "name"), s.SecretRef.Name, dnsSubdomain)...)
		}
	}
	return errs
}

// validateResources checks requests and limits, and that no request
// exceeds its limit.
func validateResources(requests, limits ResourceList, p fieldPath) FieldErrors {
	errs := validateResourceList(limits, p.Child("limits"))
	errs = append(errs, validateResourceList(requests, p.Child("requests"))...)
	for _, name := range sortedKeys(requests) {
		req := requests[name]
		if lim, ok := limits[name]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, Invalid(p.Child("requests").Key(name).String(), req.String(),
				"must be less than or equal to "+name+" limit of "+lim.String()))
		}
	}
	return errs
}

func validateVolumeMounts(ms []VolumeMount, p fieldPath, volumes map[string]bool) FieldErrors {
	var errs FieldErrors
	paths := map[string]bool{}
	for i, m := range ms {
		q := p.Index(i)
		if m.Name == "" {
			errs = append(errs, Required(q.Child("name").String(), ""))
		} else if !volumes[m.Name] {
			errs = append(errs, NotFound(q.Child("name").String(), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, Required(q.Child("mountPath").String(), ""))
		} else {
			if !strings.HasPrefix(m.MountPath, "/") {
				errs = append(errs, Invalid(q.Child("mountPath").String(), m.MountPath, "must be an absolute path"))
			}
			if paths[m.MountPath] {
				errs = append(errs, Invalid(q.Child("mountPath").String(), m.MountPath, "must be unique"))
			}
			paths[m.MountPath] = true
		}
		if m.SubPath != "" {
			errs = append(errs, validateRelativePath(m.SubPath, q.Child("subPath"))...)
		}
	}
	return errs
}

func validateProbe(pr *Probe, p fieldPath, oneSuccessful bool) FieldErrors {
	var errs FieldErrors
	n := 0
	if pr.Exec != nil {
		n++
		if len(pr.Exec.Command) == 0 {
			errs = append(errs, Required(p.Child("exec", "command").String(), ""))
		}
	}
	if h := pr.HTTPGet; h != nil {
		n++
		q := p.Child("httpGet")
		errs = append(errs, validateIntOrStringPort(h.Port, q.Child("port"))...)
		errs = append(errs, optionalEnum(q.Child("scheme"), h.Scheme, URISchemeHTTP, URISchemeHTTPS)...)
		for i, hd := range h.HTTPHeaders {
			errs = append(errs, invalidMsgs(q.Child("httpHeaders").Index(i).Child("name"), hd.Name, validation.IsHTTPHeaderName(hd.Name))...)
		}
	}
	if t := pr.TCPSocket; t != nil {
		n++
		errs = append(errs, validateIntOrStringPort(t.Port, p.Child("tcpSocket", "port"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, Required(p.String(), "must specify a handler type"))
	case n > 1:
		errs = append(errs, Forbidden(p.String(), "may not specify more than 1 handler type"))
	}
	errs = append(errs, nonNegative(p.Child("initialDelaySeconds"), pr.InitialDelaySeconds)...)
	errs = append(errs, nonNegative(p.Child("timeoutSeconds"), pr.TimeoutSeconds)...)
	errs = append(errs, nonNegative(p.Child("periodSeconds"), pr.PeriodSeconds)...)
	errs = append(errs, nonNegative(p.Child("successThreshold"), pr.SuccessThreshold)...)
	errs = append(errs, nonNegative(p.Child("failureThreshold"), pr.FailureThreshold)...)
	if oneSuccessful && pr.SuccessThreshold > 1 {
		errs = append(errs, Invalid(p.Child("successThreshold").String(), pr.SuccessThreshold, "must be 1"))
	}
	return errs
}

// validateIntOrStringPort checks a port given as a number or a name.
func validateIntOrStringPort(port intstr.IntOrString, p fieldPath) FieldErrors {
	return validatePortNumOrName(port.IntVal, port.StrVal, port.Type == intstr.String, p)
}
