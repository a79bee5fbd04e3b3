package apiserver

import (
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// selector filters objects by labels and by the few fields that may be
// selected on.
type selector struct {
	labels labels.Selector // nil: everything
	fields map[string]fieldReq
}

type fieldReq struct {
	value string
	not   bool
}

// selectableFields are the fields a fieldSelector may name, per resource.
func selectableField(kind *v1.Kind, field string) bool {
	switch field {
	case "metadata.name", "metadata.namespace":
		return true
	case "spec.nodeName", "status.phase":
		return kind.Resource == "pods"
	}
	return false
}

func parseSelectors(labelSel, fieldSel string, kind *v1.Kind) (*selector, error) {
	s := &selector{}
	if labelSel != "" {
		ls, err := labels.Parse(labelSel)
		if err != nil {
			return nil, v1.NewError(v1.ReasonBadRequest, "labelSelector %q: %v", labelSel, err)
		}
		s.labels = ls
	}
	if fieldSel != "" {
		s.fields = map[string]fieldReq{}
		for _, term := range strings.Split(fieldSel, ",") {
			var k, v string
			var not, ok bool
			if k, v, ok = strings.Cut(term, "!="); ok {
				not = true
			} else if k, v, ok = strings.Cut(term, "=="); !ok {
				k, v, ok = strings.Cut(term, "=")
			}
			k = strings.TrimSpace(k)
			if !ok || !selectableField(kind, k) {
				return nil, v1.NewError(v1.ReasonBadRequest, "fieldSelector %q: field %q is not supported for %s (use metadata.name, metadata.namespace%s)",
					fieldSel, k, kind.Resource, podFieldsHint(kind))
			}
			s.fields[k] = fieldReq{value: strings.TrimSpace(v), not: not}
		}
	}
	return s, nil
}

func podFieldsHint(kind *v1.Kind) string {
	if kind.Resource == "pods" {
		return ", spec.nodeName, status.phase"
	}
	return ""
}

func (s *selector) empty() bool { return s.labels == nil && len(s.fields) == 0 }

// matches decodes only the selectable part of a stored object.
func (s *selector) matches(b []byte) (bool, error) {
	o, err := decodeSelectable(b)
	if err != nil {
		return false, err
	}
	return s.matchesObj(o), nil
}

func (s *selector) matchesObj(o *selectable) bool {
	if s.labels != nil && !s.labels.Matches(labels.Set(o.Metadata.Labels)) {
		return false
	}
	for f, req := range s.fields {
		var got string
		switch f {
		case "metadata.name":
			got = o.Metadata.Name
		case "metadata.namespace":
			got = o.Metadata.Namespace
		case "spec.nodeName":
			got = o.Spec.NodeName
		case "status.phase":
			got = o.Status.Phase
		}
		if (got == req.value) == req.not {
			return false
		}
	}
	return true
}
