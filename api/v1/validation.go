package v1

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// fieldPath is the path of a field under validation
// ("spec.template.spec.containers[0].name").
type fieldPath string

// Child appends field names.
func (p fieldPath) Child(names ...string) fieldPath {
	for _, n := range names {
		if p == "" {
			p = fieldPath(n)
		} else {
			p += "." + fieldPath(n)
		}
	}
	return p
}

// Index appends a list index.
func (p fieldPath) Index(i int) fieldPath { return p + "[" + fieldPath(strconv.Itoa(i)) + "]" }

// Key appends a map key.
func (p fieldPath) Key(k string) fieldPath { return p + "[" + fieldPath(k) + "]" }

// String is the path as written in errors.
func (p fieldPath) String() string { return string(p) }

// Limits from Kubernetes.
const (
	// totalAnnotationSizeLimit bounds the summed size of keys and values.
	totalAnnotationSizeLimit = 256 * 1024
	// maxDataSize bounds the data of a ConfigMap or Secret.
	maxDataSize = 1024 * 1024
)

// nameFunc checks an object name and returns what is wrong with it.
type nameFunc func(string) []string

var (
	dnsSubdomain nameFunc = validation.IsDNS1123Subdomain
	dnsLabel     nameFunc = validation.IsDNS1123Label
)

// invalidMsgs turns the messages of an apimachinery check into one error.
func invalidMsgs(p fieldPath, value any, msgs []string) FieldErrors {
	if len(msgs) == 0 {
		return nil
	}
	return FieldErrors{Invalid(p.String(), value, strings.Join(msgs, "; "))}
}

// notSupportedValue is NotSupported with typed-string values.
func notSupportedValue[T ~string](p fieldPath, v T, allowed ...T) FieldErrors {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	s := make([]string, len(allowed))
	for i, a := range allowed {
		s[i] = string(a)
	}
	return FieldErrors{NotSupported(p.String(), string(v), s...)}
}

// optionalEnum accepts the empty value (defaulting fills it) or one of allowed.
func optionalEnum[T ~string](p fieldPath, v T, allowed ...T) FieldErrors {
	if v == "" {
		return nil
	}
	return notSupportedValue(p, v, allowed...)
}

func nonNegative[T int32 | int64](p fieldPath, v T) FieldErrors {
	if v < 0 {
		return FieldErrors{Invalid(p.String(), v, "must be greater than or equal to 0")}
	}
	return nil
}

func nonNegativePtr[T int32 | int64](p fieldPath, v *T) FieldErrors {
	if v == nil {
		return nil
	}
	return nonNegative(p, *v)
}

func positive[T int32 | int64](p fieldPath, v T) FieldErrors {
	if v <= 0 {
		return FieldErrors{Invalid(p.String(), v, "must be greater than 0")}
	}
	return nil
}

// validateObjectMeta checks the metadata every object has.
func validateObjectMeta(m *ObjectMeta, namespaced bool, name nameFunc) FieldErrors {
	p := fieldPath("metadata")
	var errs FieldErrors
	switch {
	case m.Name != "":
		errs = append(errs, invalidMsgs(p.Child("name"), m.Name, name(m.Name))...)
	case m.GenerateName != "":
		// The server appends a random suffix, so a trailing dash is fine.
		prefix := strings.TrimSuffix(m.GenerateName, "-")
		errs = append(errs, invalidMsgs(p.Child("generateName"), m.GenerateName, name(prefix))...)
	default:
		errs = append(errs, Required(p.Child("name").String(), "name or generateName is required"))
	}
	if namespaced {
		// The server fills an empty namespace from the URL.
		if m.Namespace != "" {
			errs = append(errs, invalidMsgs(p.Child("namespace"), m.Namespace, validation.IsDNS1123Label(m.Namespace))...)
		}
	} else if m.Namespace != "" {
		errs = append(errs, Forbidden(p.Child("namespace").String(), "not allowed on this cluster-scoped kind"))
	}
	errs = append(errs, nonNegativePtr(p.Child("deletionGracePeriodSeconds"), m.DeletionGracePeriodSeconds)...)
	errs = append(errs, nonNegative(p.Child("generation"), m.Generation)...)
	errs = append(errs, validateLabels(m.Labels, p.Child("labels"))...)
	errs = append(errs, validateAnnotations(m.Annotations, p.Child("annotations"))...)
	errs = append(errs, validateFinalizers(m.Finalizers, p.Child("finalizers"))...)
	errs = append(errs, validateOwnerReferences(m.OwnerReferences, p.Child("ownerReferences"))...)
	return errs
}

// validateLabels checks label keys (optional DNS prefix and a name) and
// values (at most 63 characters of the label alphabet).
func validateLabels(l map[string]string, p fieldPath) FieldErrors {
	var errs FieldErrors
	for _, k := range sortedKeys(l) {
		errs = append(errs, invalidMsgs(p, k, validation.IsQualifiedName(k))...)
		errs = append(errs, invalidMsgs(p.Key(k), l[k], validation.IsValidLabelValue(l[k]))...)
	}
	return errs
}

// validateAnnotations checks annotation keys and the total size.
func validateAnnotations(a map[string]string, p fieldPath) FieldErrors {
	var errs FieldErrors
	size := 0
	for _, k := range sortedKeys(a) {
		errs = append(errs, invalidMsgs(p, k, validation.IsQualifiedName(strings.ToLower(k)))...)
		size += len(k) + len(a[k])
	}
	if size > totalAnnotationSizeLimit {
		errs = append(errs, FieldError{Type: FieldTooLong, Field: p.String(),
			Detail: fmt.Sprintf("annotations total %d bytes, more than the limit of %d", size, totalAnnotationSizeLimit)})
	}
	return errs
}

func validateFinalizers(f []string, p fieldPath) FieldErrors {
	var errs FieldErrors
	seen := map[string]bool{}
	for i, x := range f {
		errs = append(errs, invalidMsgs(p.Index(i), x, validation.IsQualifiedName(x))...)
		if seen[x] {
			errs = append(errs, Duplicate(p.Index(i).String(), x))
		}
		seen[x] = true
	}
	return errs
}

func validateOwnerReferences(refs []OwnerReference, p fieldPath) FieldErrors {
	var errs FieldErrors
	controllers := 0
	for i, r := range refs {
		q := p.Index(i)
		if r.APIVersion == "" {
			errs = append(errs, Required(q.Child("apiVersion").String(), ""))
		}
		if r.Kind == "" {
			errs = append(errs, Required(q.Child("kind").String(), ""))
		}
		if r.Name == "" {
			errs = append(errs, Required(q.Child("name").String(), ""))
		}
		if r.UID == "" {
			errs = append(errs, Required(q.Child("uid").String(), ""))
		}
		if r.Controller != nil && *r.Controller {
			controllers++
			if controllers > 1 {
				errs = append(errs, Invalid(q.Child("controller").String(), true, "only one owner reference can be the controller"))
			}
		}
	}
	return errs
}

// validateLabelSelector checks a label selector's syntax.
func validateLabelSelector(s *LabelSelector, p fieldPath) FieldErrors {
	if s == nil {
		return nil
	}
	errs := validateLabels(s.MatchLabels, p.Child("matchLabels"))
	for i, e := range s.MatchExpressions {
		q := p.Child("matchExpressions").Index(i)
		errs = append(errs, invalidMsgs(q.Child("key"), e.Key, validation.IsQualifiedName(e.Key))...)
		switch e.Operator {
		case LabelSelectorOpIn, LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				errs = append(errs, Required(q.Child("values").String(), "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case LabelSelectorOpExists, LabelSelectorOpDoesNotExist:
			if len(e.Values) > 0 {
				errs = append(errs, Forbidden(q.Child("values").String(), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		default:
			errs = append(errs, notSupportedValue(q.Child("operator"), e.Operator,
				LabelSelectorOpIn, LabelSelectorOpNotIn, LabelSelectorOpExists, LabelSelectorOpDoesNotExist)...)
		}
		for j, v := range e.Values {
			errs = append(errs, invalidMsgs(q.Child("values").Index(j), v, validation.IsValidLabelValue(v))...)
		}
	}
	return errs
}

// validateResourceList checks resource names and that quantities are not
// negative. allowed, when not nil, restricts the names.
func validateResourceList(rl ResourceList, p fieldPath, allowed ...string) FieldErrors {
	var errs FieldErrors
	for _, name := range sortedKeys(rl) {
		q := rl[name]
		if len(allowed) > 0 && !contains(allowed, name) {
			errs = append(errs, NotSupported(p.String(), name, allowed...))
			continue
		}
		errs = append(errs, invalidMsgs(p, name, validation.IsQualifiedName(name))...)
		errs = append(errs, nonNegativeQuantity(p.Key(name), q)...)
	}
	return errs
}

func nonNegativeQuantity(p fieldPath, q resource.Quantity) FieldErrors {
	if q.Sign() < 0 {
		return FieldErrors{Invalid(p.String(), q.String(), "must be greater than or equal to 0")}
	}
	return nil
}

// validatePortNumOrName checks a port given as a number or an IANA service
// name.
func validatePortNumOrName(port int32, name string, isName bool, p fieldPath) FieldErrors {
	if isName {
		return invalidMsgs(p, name, validation.IsValidPortName(name))
	}
	return invalidMsgs(p, port, validation.IsValidPortNum(int(port)))
}

// validatePath checks a relative path that must stay below its root.
func validateRelativePath(s string, p fieldPath) FieldErrors {
	if strings.HasPrefix(s, "/") {
		return FieldErrors{Invalid(p.String(), s, "must be a relative path")}
	}
	for _, part := range strings.Split(s, "/") {
		if part == ".." {
			return FieldErrors{Invalid(p.String(), s, "must not contain '..'")}
		}
	}
	return nil
}

func contains[T comparable](l []T, x T) bool {
	for _, y := range l {
		if y == x {
			return true
		}
	}
	return false
}
