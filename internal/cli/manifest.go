package cli

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// stdinName names standard input in messages, as kubectl does.
const stdinName = "STDIN"

// manifest is one decoded object and where it came from.
type manifest struct {
	source string
	obj    v1.Object
	kind   *v1.Kind
	// word is the manifest's own kind, lower-cased, for messages
	// ("statefulset/web created" for a StatefulSet).
	word string
}

// ref is how messages name the object: statefulset/web.
func (m manifest) ref() string { return m.word + "/" + m.obj.GetObjectMeta().Name }

// readManifests reads and strictly decodes every file named by -f (a file,
// a directory, or "-" for standard input). It decodes everything before it
// returns, so a caller applies nothing when any document is bad.
func readManifests(g *globalOptions, names []string, recursive bool) ([]manifest, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("no manifests given: pass -f FILE, -f DIR or -f -")
	}
	var out []manifest
	for _, name := range names {
		files, err := expandPath(name, recursive)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := readSource(g.streams.In, f)
			if err != nil {
				return nil, err
			}
			ms, err := decodeManifests(g.registry(), f, data)
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no objects found in %s", strings.Join(names, ", "))
	}
	return out, nil
}

func readSource(stdin io.Reader, name string) ([]byte, error) {
	if name == stdinName {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// expandPath turns "-" into STDIN and a directory into its manifest files
// (.yaml, .yml, .json), in lexical order; -R descends into subdirectories.
func expandPath(name string, recursive bool) ([]string, error) {
	if name == "-" {
		return []string{stdinName}, nil
	}
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{name}, nil
	}
	var files []string
	err = filepath.WalkDir(name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != name && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no manifests (.yaml, .yml or .json files) found", name)
	}
	return files, nil
}

// decodeManifests decodes one file. Errors name the file; the registry
// adds the document index and the path of the field.
func decodeManifests(reg *v1.Registry, source string, data []byte) ([]manifest, error) {
	objs, err := reg.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	out := make([]manifest, 0, len(objs))
	for i, o := range objs {
		k, ok := v1.KindOf(reg, o)
		if !ok {
			return nil, fmt.Errorf("%s: object %d: %T is not a known kind", source, i+1, o)
		}
		word := strings.ToLower(o.GetTypeMeta().Kind)
		if word == "" {
			word = strings.ToLower(k.Kind)
		}
		if o.GetObjectMeta().Name == "" {
			return nil, fmt.Errorf("%s: object %d (%s): metadata.name: required", source, i+1, word)
		}
		out = append(out, manifest{source: source, obj: o, kind: k, word: word})
	}
	return out, nil
}

// namespaceFor places a manifest: its own namespace, else def, for
// namespaced kinds; none for cluster-scoped kinds.
func namespaceFor(m manifest, def string) string {
	if !m.kind.Namespaced {
		return ""
	}
	if ns := m.obj.GetObjectMeta().Namespace; ns != "" {
		return ns
	}
	return def
}
