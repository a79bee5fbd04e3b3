package placement

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// This file is a small RFC 6902 JSON patch over decoded JSON (maps,
// slices, json.Number, string, bool, nil), with the operations overrides
// accept: add, remove, replace and test. Paths are RFC 6901 JSON pointers.

// applyPatchOp applies op to doc and returns the new document (a slice
// that grows or shrinks is a new value, so every step up is rewritten).
func applyPatchOp(doc any, op v1.JSONPatchOperation) (any, error) {
	toks, err := parsePointer(op.Path)
	if err != nil {
		return nil, err
	}
	var val any
	if op.Op != "remove" {
		if len(op.Value) == 0 {
			return nil, errors.New("no value")
		}
		if val, err = decodeJSON(op.Value); err != nil {
			return nil, fmt.Errorf("value: %w", err)
		}
	}
	var edit func(parent any, tok string) (any, error)
	switch op.Op {
	case "add":
		edit = func(parent any, tok string) (any, error) { return addMember(parent, tok, val) }
	case "remove":
		edit = removeMember
	case "replace":
		edit = func(parent any, tok string) (any, error) { return replaceMember(parent, tok, val) }
	case "test":
		return doc, testValue(doc, toks, val)
	default:
		return nil, fmt.Errorf("op %q is not add, remove, replace or test", op.Op)
	}
	if len(toks) == 0 {
		if op.Op == "remove" {
			return nil, errors.New("cannot remove the whole object")
		}
		return val, nil
	}
	return patchAt(doc, toks, "", edit)
}

// parsePointer splits an RFC 6901 JSON pointer into its unescaped tokens;
// "" is the whole document.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, errors.New(`not a JSON pointer: must start with "/"`)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("token %q: ~ must be followed by 0 or 1", t)
			}
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// escapeToken is the inverse of a pointer token's unescaping.
func escapeToken(t string) string {
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

// patchAt walks toks from node (at pointer at) and has edit change the
// parent of the last token; it returns node with the edited parent in
// place.
func patchAt(node any, toks []string, at string, edit func(parent any, tok string) (any, error)) (any, error) {
	if len(toks) == 1 {
		return edit(node, toks[0])
	}
	next := at + "/" + escapeToken(toks[0])
	c, err := member(node, toks[0], at)
	if err != nil {
		return nil, err
	}
	if c, err = patchAt(c, toks[1:], next, edit); err != nil {
		return nil, err
	}
	switch n := node.(type) {
	case map[string]any:
		n[toks[0]] = c
	case []any:
		i, _ := arrayIndex(toks[0], len(n), false) // member checked it
		n[i] = c
	}
	return node, nil
}

// member is the existing member tok of node (at pointer at).
func member(node any, tok, at string) (any, error) {
	switch n := node.(type) {
	case map[string]any:
		v, ok := n[tok]
		if !ok {
			return nil, fmt.Errorf("%s does not exist", pointerString(at+"/"+escapeToken(tok)))
		}
		return v, nil
	case []any:
		i, err := arrayIndex(tok, len(n), false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pointerString(at+"/"+escapeToken(tok)), err)
		}
		return n[i], nil
	default:
		return nil, fmt.Errorf("%s is not an object or array", pointerString(at))
	}
}

func pointerString(at string) string {
	if at == "" {
		return "the object"
	}
	return strconv.Quote(at)
}

// arrayIndex parses tok as the index of an element of an array of length
// n; with insert, n itself (one past the end) is an index too.
func arrayIndex(tok string, n int, insert bool) (int, error) {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') || strings.Trim(tok, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not an array index", tok)
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i > n || (i == n && !insert) {
		return 0, fmt.Errorf("index %s out of range (length %d)", tok, n)
	}
	return i, nil
}

func addMember(parent any, tok string, val any) (any, error) {
	switch p := parent.(type) {
	case map[string]any:
		p[tok] = val
		return p, nil
	case []any:
		if tok == "-" {
			return append(p, val), nil
		}
		i, err := arrayIndex(tok, len(p), true)
		if err != nil {
			return nil, err
		}
		return slices.Insert(p, i, val), nil
	default:
		return nil, errors.New("parent is not an object or array")
	}
}

func removeMember(parent any, tok string) (any, error) {
	switch p := parent.(type) {
	case map[string]any:
		if _, ok := p[tok]; !ok {
			return nil, errors.New("no such member")
		}
		delete(p, tok)
		return p, nil
	case []any:
		i, err := arrayIndex(tok, len(p), false)
		if err != nil {
			return nil, err
		}
		return slices.Delete(p, i, i+1), nil
	default:
		return nil, errors.New("parent is not an object or array")
	}
}

func replaceMember(parent any, tok string, val any) (any, error) {
	switch p := parent.(type) {
	case map[string]any:
		if _, ok := p[tok]; !ok {
			return nil, errors.New("no such member")
		}
		p[tok] = val
		return p, nil
	case []any:
		i, err := arrayIndex(tok, len(p), false)
		if err != nil {
			return nil, err
		}
		p[i] = val
		return p, nil
	default:
		return nil, errors.New("parent is not an object or array")
	}
}

// testValue checks that the value at toks equals want, as RFC 6902 test
// compares: numbers by value, objects regardless of member order.
func testValue(doc any, toks []string, want any) error {
	node, at := doc, ""
	for _, t := range toks {
		var err error
		if node, err = member(node, t, at); err != nil {
			return err
		}
		at += "/" + escapeToken(t)
	}
	if !equalJSON(node, want) {
		got, _ := json.Marshal(node)
		exp, _ := json.Marshal(want)
		return fmt.Errorf("value is %s, not %s", got, exp)
	}
	return nil
}

func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equalJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, equalJSON)
	case json.Number:
		y, ok := b.(json.Number)
		return ok && equalNumbers(x, y)
	default: // string, bool, nil
		return a == b
	}
}

func equalNumbers(a, b json.Number) bool {
	x, okx := new(big.Rat).SetString(string(a))
	y, oky := new(big.Rat).SetString(string(b))
	if !okx || !oky {
		return a == b
	}
	return x.Cmp(y) == 0
}
