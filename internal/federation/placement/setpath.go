package placement

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// pathElem is one step of a field path: a field name, or an index.
type pathElem struct {
	key     string
	index   int
	isIndex bool
}

// parsePath parses a field path of an override's Set: field names joined
// by dots, with [i] list indices (spec.volumeClaimTemplates[0].spec), and
// ["key"] for a field name that holds dots (metadata.labels["app.kubernetes.io/name"]).
func parsePath(p string) ([]pathElem, error) {
	var elems []pathElem
	for i := 0; i < len(p); {
		switch {
		case p[i] == '[':
			e, n, err := parseBracket(p[i:])
			if err != nil {
				return nil, fmt.Errorf("offset %d: %w", i, err)
			}
			elems = append(elems, e)
			i += n
		case i > 0 && p[i] != '.':
			return nil, fmt.Errorf("offset %d: want . or [ after %s", i, p[:i])
		default:
			if i > 0 {
				i++ // the dot
			}
			n := strings.IndexAny(p[i:], ".[")
			if n < 0 {
				n = len(p) - i
			}
			if n == 0 {
				return nil, fmt.Errorf("offset %d: empty field name", i)
			}
			elems = append(elems, pathElem{key: p[i : i+n]})
			i += n
		}
	}
	if len(elems) == 0 {
		return nil, errors.New("empty path")
	}
	return elems, nil
}

// parseBracket parses [i] or ["key"] at the start of p, returning how many
// bytes it took.
func parseBracket(p string) (pathElem, int, error) {
	if strings.HasPrefix(p, `["`) {
		end := strings.Index(p, `"]`)
		if end < 0 {
			return pathElem{}, 0, errors.New(`["… has no closing "]`)
		}
		return pathElem{key: p[2:end]}, end + 2, nil
	}
	end := strings.IndexByte(p, ']')
	if end < 0 {
		return pathElem{}, 0, errors.New("[ has no closing ]")
	}
	i, err := strconv.Atoi(p[1:end])
	if err != nil || i < 0 {
		return pathElem{}, 0, fmt.Errorf("index %q is not a number", p[1:end])
	}
	return pathElem{index: i, isIndex: true}, end + 1, nil
}

// pathString writes elems back as a path, for messages; no elems is "the
// object".
func pathString(elems []pathElem) string {
	if len(elems) == 0 {
		return "the object"
	}
	var b strings.Builder
	for i, e := range elems {
		switch {
		case e.isIndex:
			fmt.Fprintf(&b, "[%d]", e.index)
		case strings.ContainsAny(e.key, ".["):
			fmt.Fprintf(&b, `["%s"]`, e.key)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.key)
		}
	}
	return b.String()
}

// setPath sets the field at path in doc to the JSON value raw. Every
// element but the last must exist; the last may be a new field of an
// object, or must be an index within its list.
func setPath(doc any, path string, raw json.RawMessage) error {
	elems, err := parsePath(path)
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		return errors.New("no value")
	}
	val, err := decodeJSON(raw)
	if err != nil {
		return fmt.Errorf("value: %w", err)
	}
	node := doc
	for i, e := range elems[:len(elems)-1] {
		if node, err = child(node, e, elems[:i]); err != nil {
			return err
		}
	}
	last, parent := elems[len(elems)-1], elems[:len(elems)-1]
	if last.isIndex {
		list, ok := node.([]any)
		if !ok {
			return fmt.Errorf("%s is not a list", pathString(parent))
		}
		if last.index >= len(list) {
			return fmt.Errorf("index %d out of range in %s (length %d)", last.index, pathString(parent), len(list))
		}
		list[last.index] = val
		return nil
	}
	obj, ok := node.(map[string]any)
	if !ok {
		return fmt.Errorf("%s is not an object", pathString(parent))
	}
	obj[last.key] = val
	return nil
}

// child is the element e of node, which is at path parent.
func child(node any, e pathElem, parent []pathElem) (any, error) {
	if e.isIndex {
		list, ok := node.([]any)
		if !ok {
			return nil, fmt.Errorf("%s is not a list", pathString(parent))
		}
		if e.index >= len(list) {
			return nil, fmt.Errorf("index %d out of range in %s (length %d)", e.index, pathString(parent), len(list))
		}
		return list[e.index], nil
	}
	obj, ok := node.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not an object", pathString(parent))
	}
	v, ok := obj[e.key]
	if !ok {
		return nil, fmt.Errorf("no field %q in %s", e.key, pathString(parent))
	}
	return v, nil
}
