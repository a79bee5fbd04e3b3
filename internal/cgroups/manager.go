package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Manager creates and finds the groups of one owner (a node agent) under a
// parent path, in every hierarchy of its Mode. It holds no state besides
// paths, so several Managers (an agent before and after a restart) see the
// same groups.
type Manager struct {
	root   string
	mode   Mode
	parent string
	// mounts maps each mounted v1 controller to its hierarchy; nil on v2.
	mounts map[string]string
}

// NewManager returns a Manager for groups under root/<controller>/parent
// (v1) or root/parent (v2). root is normally "/sys/fs/cgroup" and mode what
// Detect(root) returned; tests point root at a fake tree. parent is a
// relative path such as "kennel/node-1". Nothing is created until Create.
func NewManager(root string, mode Mode, parent string) (*Manager, error) {
	if mode != ModeV1 && mode != ModeV2 {
		return nil, fmt.Errorf("cgroups: mode %s: no usable cgroup hierarchy", mode)
	}
	clean := filepath.Clean(parent)
	if parent == "" || filepath.IsAbs(parent) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, fmt.Errorf("cgroups: parent %q: want a relative path below the hierarchy root", parent)
	}
	m := &Manager{root: root, mode: mode, parent: clean}
	if mode == ModeV1 {
		m.mounts = v1Mounts(root)
		for _, c := range []string{"cpu", "memory"} {
			if m.mounts[c] == "" {
				return nil, fmt.Errorf("cgroups: v1 controller %s is not mounted under %s", c, root)
			}
		}
	}
	return m, nil
}

// Mode is the cgroup version this Manager drives.
func (m *Manager) Mode() Mode { return m.mode }

// Create makes the group name (idempotently) and applies r to it.
func (m *Manager) Create(name string, r Resources) (*Group, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	g, err := m.group(name)
	if err != nil {
		return nil, err
	}
	if m.mode == ModeV2 {
		if err := m.prepareV2(); err != nil {
			return nil, err
		}
	}
	for _, dir := range g.dirs() {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cgroups: create group %s: %w", name, err)
		}
	}
	if err := g.Update(r); err != nil {
		return nil, err
	}
	return g, nil
}

// Open returns the existing group name, so a restarted agent can adopt the
// processes it started. The error wraps fs.ErrNotExist when there is no such
// group.
func (m *Manager) Open(name string) (*Group, error) {
	g, err := m.group(name)
	if err != nil {
		return nil, err
	}
	dir := g.v2dir
	if m.mode == ModeV1 {
		dir = g.v1dirs["memory"]
	}
	if !isDir(dir) {
		return nil, fmt.Errorf("cgroups: open group %s: %s: %w", name, dir, fs.ErrNotExist)
	}
	return g, nil
}

// List returns the names of the groups under the parent, sorted; on v1 a
// group present in any hierarchy counts, so a half-created or half-deleted
// group is still found and can be deleted.
func (m *Manager) List() ([]string, error) {
	var parents []string
	if m.mode == ModeV2 {
		parents = []string{filepath.Join(m.root, m.parent)}
	} else {
		for _, mount := range m.v1MountDirs() {
			parents = append(parents, filepath.Join(mount, m.parent))
		}
	}
	var names []string
	for _, p := range parents {
		entries, err := os.ReadDir(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cgroups: list %s: %w", p, unwrapPath(err))
		}
		for _, e := range entries {
			if e.IsDir() && !slices.Contains(names, e.Name()) {
				names = append(names, e.Name())
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// RemoveParent removes the manager's parent group (its last path element,
// e.g. kennel/<node>) from every hierarchy if it holds no groups; a
// parent that still has groups is left alone and reported by the bool.
func (m *Manager) RemoveParent() (bool, error) {
	names, err := m.List()
	if err != nil || len(names) > 0 {
		return false, err
	}
	dirs := []string{filepath.Join(m.root, m.parent)}
	if m.mode != ModeV2 {
		dirs = nil
		for _, mount := range m.v1MountDirs() {
			dirs = append(dirs, filepath.Join(mount, m.parent))
		}
	}
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("cgroups: remove %s: %w", d, unwrapPath(err))
		}
	}
	return true, nil
}

// group builds the Group value for name without touching the filesystem.
func (m *Manager) group(name string) (*Group, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return nil, fmt.Errorf("cgroups: group name %q: want one path element", name)
	}
	g := &Group{name: name, mode: m.mode}
	if m.mode == ModeV2 {
		g.v2dir = filepath.Join(m.root, m.parent, name)
		return g, nil
	}
	g.v1dirs = make(map[string]string, len(m.mounts))
	g.v1mounts = m.mounts
	for c, mount := range m.mounts {
		g.v1dirs[c] = filepath.Join(mount, m.parent, name)
	}
	for _, mount := range m.v1MountDirs() {
		g.v1all = append(g.v1all, filepath.Join(mount, m.parent, name))
	}
	return g, nil
}

// v1MountDirs lists each mounted hierarchy once, though a joint mount serves
// several controllers.
func (m *Manager) v1MountDirs() []string {
	var dirs []string
	for _, c := range v1Controllers() {
		if d := m.mounts[c]; d != "" && !slices.ContainsFunc(dirs, func(x string) bool { return sameDir(x, d) }) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// prepareV2 creates the parent path and enables the controllers groups need
// in cgroup.subtree_control of the root and of every directory down to the
// parent, since a v2 controller is available in a group only when each
// ancestor delegates it.
func (m *Manager) prepareV2() error {
	dir := m.root
	for _, elem := range append([]string{""}, strings.Split(m.parent, "/")...) {
		dir = filepath.Join(dir, elem)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cgroups: create %s: %w", dir, unwrapPath(err))
		}
		if err := enableControllers(dir); err != nil {
			return err
		}
	}
	return nil
}

// enableControllers enables in dir's subtree_control each controller this
// package uses that dir itself has, one write per controller so that an
// already enabled one is not rewritten.
func enableControllers(dir string) error {
	available, err := readFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return err
	}
	control := filepath.Join(dir, "cgroup.subtree_control")
	enabled, err := readFile(control)
	if err != nil {
		return err
	}
	for _, c := range v2Controllers() {
		if slices.Contains(strings.Fields(available), c) && !slices.Contains(strings.Fields(enabled), c) {
			if err := writeFile(control, "+"+c); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameDir reports whether a and b are one directory, as a joint mount and
// its symlinks are.
func sameDir(a, b string) bool {
	if a == b {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
