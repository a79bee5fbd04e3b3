package v1

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

// The checks of scalar values the walker does in place of json.Unmarshal's
// type errors, which name no path.

// leaf checks a value of a type with its own decoding (Quantity,
// IntOrString, Time): the common ones directly, others with their
// UnmarshalJSON.
func (w *walker) leaf(s *schema, raw []byte) {
	var err error
	switch s.leaf {
	case leafTime:
		if raw[0] != '"' {
			w.fail(FieldInvalid, "expected an RFC 3339 time string, got "+string(raw))
			return
		}
		_, err = time.Parse(time.RFC3339Nano, string(raw[1:len(raw)-1]))
	case leafIntOrString:
		switch c := raw[0]; {
		case c == '"':
		case c == '-' || (c >= '0' && c <= '9'):
			w.integer(int32Schema, raw)
		default:
			w.fail(FieldInvalid, "expected integer or string, got "+string(raw))
		}
		return
	case leafQuantity:
		q := raw
		if q[0] == '"' {
			q = q[1 : len(q)-1]
		} else if c := q[0]; c != '-' && c != '+' && c != '.' && (c < '0' || c > '9') {
			w.fail(FieldInvalid, "expected a quantity string or number, got "+string(raw))
			return
		}
		_, err = resource.ParseQuantity(string(q))
	default:
		v := reflect.New(s.typ).Interface()
		if u, ok := v.(json.Unmarshaler); ok {
			err = u.UnmarshalJSON(raw)
		} else {
			err = json.Unmarshal(raw, v)
		}
	}
	if err != nil {
		w.fail(FieldInvalid, "invalid value "+string(raw)+": "+err.Error())
	}
}

// int32Schema is the shape of IntOrString's integer form.
var int32Schema = &schema{kind: vInt, bits: 32}

// integer checks that a number is an integer that fits the field.
func (w *walker) integer(s *schema, raw []byte) {
	neg := len(raw) > 0 && raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	var v uint64
	overflow := len(digits) == 0 || len(digits) > 20
	for _, c := range digits {
		if c < '0' || c > '9' {
			w.fail(FieldInvalid, "expected integer, got "+string(raw))
			return
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			overflow = true
			break
		}
		v = v*10 + d
	}
	switch {
	case overflow:
	case s.kind == vUint:
		overflow = (neg && v != 0) || (s.bits < 64 && v > 1<<s.bits-1)
	case neg:
		overflow = v > 1<<(s.bits-1)
	default:
		overflow = v > 1<<(s.bits-1)-1
	}
	if overflow {
		w.fail(FieldInvalid, "value "+string(raw)+" out of range for a "+strconv.Itoa(s.bits)+"-bit integer")
	}
}

// base64 checks a []byte value.
func (w *walker) base64() {
	start := w.pos
	raw, escaped := w.str()
	if w.syntax {
		return
	}
	if escaped {
		var s string
		if json.Unmarshal(w.data[start:w.pos], &s) != nil {
			w.syntax = true
			return
		}
		raw = []byte(s)
	}
	n := base64.StdEncoding.DecodedLen(len(raw))
	if cap(w.scratch) < n {
		w.scratch = make([]byte, n)
	}
	if _, err := base64.StdEncoding.Decode(w.scratch[:n], raw); err != nil {
		w.fail(FieldInvalid, "invalid base64 data: "+err.Error())
	}
}
