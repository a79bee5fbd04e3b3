package v1

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Reason is the machine-readable kind of an API error. The set is closed;
// each reason maps to one HTTP status code.
type Reason string

// The reasons an API call can fail for.
const (
	ReasonBadRequest       Reason = "BadRequest"
	ReasonUnauthorized     Reason = "Unauthorized"
	ReasonForbidden        Reason = "Forbidden"
	ReasonNotFound         Reason = "NotFound"
	ReasonMethodNotAllowed Reason = "MethodNotAllowed"
	ReasonAlreadyExists    Reason = "AlreadyExists"
	ReasonConflict         Reason = "Conflict"
	ReasonGone             Reason = "Expired"
	ReasonTooLarge         Reason = "RequestEntityTooLarge"
	ReasonInvalid          Reason = "Invalid"
	ReasonUnsupported      Reason = "UnsupportedMediaType"
	ReasonTimeout          Reason = "Timeout"
	ReasonUnavailable      Reason = "ServiceUnavailable"
	ReasonInternal         Reason = "InternalError"
)

// Code is the HTTP status code of the reason.
func (r Reason) Code() int {
	switch r {
	case ReasonBadRequest:
		return http.StatusBadRequest
	case ReasonUnauthorized:
		return http.StatusUnauthorized
	case ReasonForbidden:
		return http.StatusForbidden
	case ReasonNotFound:
		return http.StatusNotFound
	case ReasonMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case ReasonAlreadyExists, ReasonConflict:
		return http.StatusConflict
	case ReasonGone:
		return http.StatusGone
	case ReasonTooLarge:
		return http.StatusRequestEntityTooLarge
	case ReasonInvalid:
		return http.StatusUnprocessableEntity
	case ReasonUnsupported:
		return http.StatusUnsupportedMediaType
	case ReasonTimeout:
		return http.StatusGatewayTimeout
	case ReasonUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// StatusCause is one field-level reason for a failure.
type StatusCause struct {
	Type    string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
}

// StatusDetails names the object a failure concerns.
type StatusDetails struct {
	Name   string        `json:"name,omitempty"`
	Kind   string        `json:"kind,omitempty"`
	UID    string        `json:"uid,omitempty"`
	Causes []StatusCause `json:"causes,omitempty"`
}

// Status is the body of every failed API call, as in Kubernetes.
type Status struct {
	TypeMeta `json:",inline"`
	Status   string         `json:"status,omitempty"`
	Message  string         `json:"message,omitempty"`
	Reason   Reason         `json:"reason,omitempty"`
	Details  *StatusDetails `json:"details,omitempty"`
	Code     int            `json:"code,omitempty"`
}

// Error is an API error. Servers build it; clients decode it from a Status
// body, so errors.As works the same on both sides of the wire.
type Error struct {
	Status Status
}

// Error returns the status message.
func (e *Error) Error() string { return e.Status.Message }

// NewError builds an error of the given reason with a formatted message.
func NewError(reason Reason, format string, args ...any) *Error {
	return &Error{Status: Status{
		TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   "Failure",
		Reason:   reason,
		Message:  fmt.Sprintf(format, args...),
		Code:     reason.Code(),
	}}
}

// NewInvalid builds an Invalid error for kind/name from field errors; the
// message lists every field with its reason.
func NewInvalid(kind, name string, errs FieldErrors) *Error {
	msgs := make([]string, 0, len(errs))
	causes := make([]StatusCause, 0, len(errs))
	for _, fe := range errs {
		msgs = append(msgs, fe.Error())
		causes = append(causes, StatusCause{Type: string(fe.Type), Message: fe.Error(), Field: fe.Field})
	}
	what := strings.ToLower(kind)
	if name != "" {
		what += " " + fmt.Sprintf("%q", name)
	}
	e := NewError(ReasonInvalid, "%s is invalid: %s", what, strings.Join(msgs, "; "))
	e.Status.Details = &StatusDetails{Name: name, Kind: kind, Causes: causes}
	return e
}

// ReasonOf is the reason of an API error, or "" when err is not one.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Status.Reason
	}
	return ""
}

// IsNotFound reports whether err is a NotFound API error.
func IsNotFound(err error) bool { return ReasonOf(err) == ReasonNotFound }

// IsAlreadyExists reports whether err is an AlreadyExists API error.
func IsAlreadyExists(err error) bool { return ReasonOf(err) == ReasonAlreadyExists }

// IsConflict reports whether err is a Conflict API error (stale resourceVersion).
func IsConflict(err error) bool { return ReasonOf(err) == ReasonConflict }

// IsGone reports whether err says the requested resourceVersion was compacted.
func IsGone(err error) bool { return ReasonOf(err) == ReasonGone }

// IsInvalid reports whether err is an Invalid API error.
func IsInvalid(err error) bool { return ReasonOf(err) == ReasonInvalid }

// IsForbidden reports whether err is a Forbidden API error.
func IsForbidden(err error) bool { return ReasonOf(err) == ReasonForbidden }

// IsUnauthorized reports whether err is an Unauthorized API error.
func IsUnauthorized(err error) bool { return ReasonOf(err) == ReasonUnauthorized }

// FieldErrorType classifies a field error, as in Kubernetes.
type FieldErrorType string

// The kinds of field error.
const (
	FieldRequired     FieldErrorType = "FieldValueRequired"
	FieldInvalid      FieldErrorType = "FieldValueInvalid"
	FieldNotSupported FieldErrorType = "FieldValueNotSupported"
	FieldForbidden    FieldErrorType = "FieldValueForbidden"
	FieldDuplicate    FieldErrorType = "FieldValueDuplicate"
	FieldTooLong      FieldErrorType = "FieldValueTooLong"
	FieldUnknown      FieldErrorType = "FieldValueUnknown"
	FieldImmutable    FieldErrorType = "FieldValueImmutable"
	FieldNotFound     FieldErrorType = "FieldValueNotFound"
)

// FieldError says what is wrong with one field, named by its full path
// (spec.template.spec.containers[0].name).
type FieldError struct {
	Type   FieldErrorType
	Field  string
	Detail string
}

// Error returns "field: detail".
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Detail
	}
	return e.Field + ": " + e.Detail
}

// FieldErrors is a list of field errors; nil means valid.
type FieldErrors []FieldError

// Error joins the errors with "; ".
func (l FieldErrors) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// Required says the field must be set.
func Required(field, detail string) FieldError {
	if detail == "" {
		detail = "required"
	}
	return FieldError{Type: FieldRequired, Field: field, Detail: detail}
}

// Invalid says the field's value is wrong, and why.
func Invalid(field string, value any, detail string) FieldError {
	return FieldError{Type: FieldInvalid, Field: field, Detail: fmt.Sprintf("invalid value %v: %s", quoteIfString(value), detail)}
}

// NotSupported says the value is not one of the allowed ones.
func NotSupported(field string, value any, allowed ...string) FieldError {
	d := fmt.Sprintf("unsupported value %v", quoteIfString(value))
	if len(allowed) > 0 {
		d += ": supported values: " + strings.Join(quoteAll(allowed), ", ")
	}
	return FieldError{Type: FieldNotSupported, Field: field, Detail: d}
}

// Forbidden says the field may not be set (here, or by this caller).
func Forbidden(field, detail string) FieldError {
	return FieldError{Type: FieldForbidden, Field: field, Detail: detail}
}

// Duplicate says the value repeats one given earlier.
func Duplicate(field string, value any) FieldError {
	return FieldError{Type: FieldDuplicate, Field: field, Detail: fmt.Sprintf("duplicate value %v", quoteIfString(value))}
}

// Immutable says the field may not change after creation.
func Immutable(field string) FieldError {
	return FieldError{Type: FieldImmutable, Field: field, Detail: "field is immutable"}
}

// NotFound says the value refers to something that does not exist (a
// volume mount naming no volume).
func NotFound(field string, value any) FieldError {
	return FieldError{Type: FieldNotFound, Field: field, Detail: fmt.Sprintf("not found: %v", quoteIfString(value))}
}

// Unknown says the field does not exist in the schema.
func Unknown(field string) FieldError {
	return FieldError{Type: FieldUnknown, Field: field, Detail: "unknown field"}
}

func quoteIfString(v any) any {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return v
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}
