package v1

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// walker checks a JSON document against a schema in one pass over the
// bytes, collecting every unknown, unsupported, duplicate or mistyped field
// with its full path. It allocates only when it finds an error, so it costs
// a fraction of the json.Unmarshal that follows it.
//
// The walker trusts the document to be valid JSON; json.Unmarshal, which
// always runs after it, is the judge of syntax. On malformed input the
// walker stops and sets syntax, and its errors are discarded.
type walker struct {
	data    []byte
	pos     int
	path    []byte
	errs    FieldErrors
	syntax  bool
	scratch []byte
}

// walk checks data against s and returns the field errors, and whether
// the walker found the document malformed.
func walk(data []byte, s *schema) (FieldErrors, bool) {
	w := walker{data: data}
	w.value(s)
	w.ws()
	if w.pos != len(w.data) {
		w.syntax = true
	}
	return w.errs, w.syntax
}

func (w *walker) ws() {
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

func (w *walker) fail(t FieldErrorType, detail string) {
	w.errs = append(w.errs, FieldError{Type: t, Field: string(w.path), Detail: detail})
}

// value checks one value of shape s at w.pos.
func (w *walker) value(s *schema) {
	w.ws()
	if w.pos >= len(w.data) {
		w.syntax = true
		return
	}
	c := w.data[w.pos]
	if c == 'n' { // null is every type's zero value
		w.literal("null")
		return
	}
	switch s.kind {
	case vAny:
		w.skip()
	case vLeaf:
		start := w.pos
		w.skip()
		if !w.syntax {
			w.leaf(s, w.data[start:w.pos])
		}
	case vString:
		if c != '"' {
			w.mismatch("string")
			return
		}
		w.str()
	case vBytes:
		if c != '"' {
			w.mismatch("base64 string")
			return
		}
		w.base64()
	case vBool:
		switch c {
		case 't':
			w.literal("true")
		case 'f':
			w.literal("false")
		default:
			w.mismatch("boolean")
		}
	case vInt, vUint:
		if c != '-' && (c < '0' || c > '9') {
			w.mismatch("integer")
			return
		}
		start := w.pos
		w.number()
		w.integer(s, w.data[start:w.pos])
	case vFloat:
		if c != '-' && (c < '0' || c > '9') {
			w.mismatch("number")
			return
		}
		w.number()
	case vStruct:
		if c != '{' {
			w.mismatch("object")
			return
		}
		w.object(s)
	case vMap:
		if c != '{' {
			w.mismatch("object")
			return
		}
		w.mapObject(s)
	case vSlice:
		if c != '[' {
			w.mismatch("array")
			return
		}
		w.array(s)
	}
}

// mismatch reports a value of the wrong JSON type and skips it.
func (w *walker) mismatch(want string) {
	got := "number"
	switch w.data[w.pos] {
	case '"':
		got = "string"
	case '{':
		got = "object"
	case '[':
		got = "array"
	case 't', 'f':
		got = "boolean"
	}
	w.fail(FieldInvalid, "expected "+want+", got "+got)
	w.skip()
}

// object checks the fields of a struct.
func (w *walker) object(s *schema) {
	w.pos++ // {
	var seen uint64
	w.ws()
	if w.pos < len(w.data) && w.data[w.pos] == '}' {
		w.pos++
		return
	}
	for !w.syntax {
		key := w.key()
		if w.syntax {
			return
		}
		n := len(w.path)
		if n > 0 {
			w.path = append(w.path, '.')
		}
		w.path = append(w.path, key...)
		if i, ok := s.index[string(key)]; ok {
			if i < 64 {
				if seen&(1<<i) != 0 {
					w.fail(FieldDuplicate, "duplicate field")
				}
				seen |= 1 << i
			}
			w.value(s.fields[i])
		} else {
			w.unknown(s, string(key))
		}
		w.path = w.path[:n]
		if w.next('}') {
			return
		}
	}
}

// mapObject checks the values of a map; keys are paths as name[key].
func (w *walker) mapObject(s *schema) {
	w.pos++ // {
	w.ws()
	if w.pos < len(w.data) && w.data[w.pos] == '}' {
		w.pos++
		return
	}
	for !w.syntax {
		key := w.key()
		if w.syntax {
			return
		}
		n := len(w.path)
		w.path = append(w.path, '[')
		w.path = append(w.path, key...)
		w.path = append(w.path, ']')
		w.value(s.elem)
		w.path = w.path[:n]
		if w.next('}') {
			return
		}
	}
}

func (w *walker) array(s *schema) {
	w.pos++ // [
	w.ws()
	if w.pos < len(w.data) && w.data[w.pos] == ']' {
		w.pos++
		return
	}
	for i := 0; !w.syntax; i++ {
		n := len(w.path)
		w.path = append(w.path, '[')
		w.path = strconv.AppendInt(w.path, int64(i), 10)
		w.path = append(w.path, ']')
		w.value(s.elem)
		w.path = w.path[:n]
		if w.next(']') {
			return
		}
	}
}

// key reads an object key and the colon after it.
func (w *walker) key() []byte {
	w.ws()
	if w.pos >= len(w.data) || w.data[w.pos] != '"' {
		w.syntax = true
		return nil
	}
	raw, escaped := w.str()
	if escaped {
		var s string
		if json.Unmarshal(w.data[w.pos-len(raw)-2:w.pos], &s) != nil {
			w.syntax = true
			return nil
		}
		raw = []byte(s)
	}
	w.ws()
	if w.pos >= len(w.data) || w.data[w.pos] != ':' {
		w.syntax = true
		return nil
	}
	w.pos++
	return raw
}

// next consumes a comma (false) or the closing byte (true).
func (w *walker) next(closing byte) bool {
	w.ws()
	if w.pos >= len(w.data) {
		w.syntax = true
		return true
	}
	switch w.data[w.pos] {
	case ',':
		w.pos++
		return false
	case closing:
		w.pos++
		return true
	}
	w.syntax = true
	return true
}

// unknown reports a field the schema lacks, or that Kennel does not
// support, and skips its value.
func (w *walker) unknown(s *schema, key string) {
	start := w.pos
	w.ws()
	w.skip()
	if why, ok := s.unsupported[key]; ok {
		if isDefaultValue(w.data[start:w.pos]) {
			return
		}
		detail := "not supported by Kennel"
		if why != "" {
			detail += ": " + why
		}
		w.fail(FieldNotSupported, detail)
		return
	}
	detail := "unknown field"
	for _, name := range s.fieldNames() {
		if strings.EqualFold(name, key) || name == key+"s" || key == name+"s" {
			detail += " (did you mean \"" + name + "\"?)"
			break
		}
	}
	w.fail(FieldUnknown, detail)
}

// isDefaultValue reports whether a raw JSON value is a Kubernetes default
// (null, false, 0, "", {} or []).
func isDefaultValue(raw []byte) bool {
	switch string(bytes.Join(bytes.Fields(raw), nil)) {
	case "null", "false", "0", `""`, "{}", "[]":
		return true
	}
	return false
}

// str skips a string and returns its raw contents, and whether they hold
// escapes.
func (w *walker) str() ([]byte, bool) {
	w.pos++ // "
	start := w.pos
	escaped := false
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case '\\':
			escaped = true
			w.pos += 2
		case '"':
			w.pos++
			return w.data[start : w.pos-1], escaped
		default:
			w.pos++
		}
	}
	w.syntax = true
	return nil, false
}

func (w *walker) number() {
	for w.pos < len(w.data) {
		switch c := w.data[w.pos]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			w.pos++
		default:
			return
		}
	}
}

func (w *walker) literal(lit string) {
	if !bytes.HasPrefix(w.data[w.pos:], []byte(lit)) {
		w.syntax = true
		return
	}
	w.pos += len(lit)
}

// skip passes over one value of any shape.
func (w *walker) skip() {
	if w.pos >= len(w.data) {
		w.syntax = true
		return
	}
	switch w.data[w.pos] {
	case '"':
		w.str()
		return
	case '{', '[':
	default: // number or literal
		start := w.pos
		for w.pos < len(w.data) {
			c := w.data[w.pos]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			w.pos++
		}
		if w.pos == start {
			w.syntax = true
		}
		return
	}
	depth := 0
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case '"':
			w.str()
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		w.pos++
		if depth == 0 {
			return
		}
	}
	w.syntax = true
}
