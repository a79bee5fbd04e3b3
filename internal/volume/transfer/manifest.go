package transfer

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"syscall"
)

// EntryType is the kind of one manifest entry.
type EntryType string

// The kinds of entries a manifest holds. Sockets, FIFOs and device files
// are not copied (Manifest.Skipped names them).
const (
	TypeDir     EntryType = "dir"
	TypeFile    EntryType = "file"
	TypeSymlink EntryType = "symlink"
)

// Entry is one directory, regular file or symlink of the tree.
type Entry struct {
	// Path is slash-separated and relative to the root; "." is the root
	// itself.
	Path string    `json:"path"`
	Type EntryType `json:"type"`
	// Mode is the Unix permission bits with setuid, setgid and sticky
	// (07777).
	Mode uint32 `json:"mode"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	// Size is a regular file's length in bytes.
	Size int64 `json:"size,omitempty"`
	// MTime is the modification time in nanoseconds since the epoch.
	MTime int64 `json:"mtime,omitempty"`
	// Target is a symlink's target, as written (it is never followed).
	Target string `json:"target,omitempty"`
}

// Manifest is the whole tree, sorted by path (a directory comes before
// what it holds).
type Manifest struct {
	Entries []Entry `json:"entries"`
	// Files and TotalBytes count the regular files and their bytes.
	Files      int   `json:"files"`
	TotalBytes int64 `json:"totalBytes"`
	// Skipped are the paths of special files that are not copied.
	Skipped []string `json:"skipped,omitempty"`
}

// lostFound is the directory mkfs makes at the root of an ext
// filesystem: metadata of the filesystem, not of the volume, so it is
// neither copied nor removed.
const lostFound = "lost+found"

// BuildManifest walks the tree at root without following symlinks; the
// os.Root keeps every lookup inside it.
func BuildManifest(root *os.Root) (*Manifest, error) {
	m := &Manifest{}
	st, err := root.Lstat(".")
	if err != nil {
		return nil, fmt.Errorf("transfer: manifest: %w", err)
	}
	m.Entries = append(m.Entries, entryOf(".", st))
	pending := []string{"."}
	for len(pending) > 0 {
		dir := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		subdirs, err := m.addDir(root, dir)
		if err != nil {
			return nil, err
		}
		pending = append(pending, subdirs...)
	}
	sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].Path < m.Entries[j].Path })
	sort.Strings(m.Skipped)
	return m, nil
}

// addDir adds the entries of one directory and returns its
// subdirectories.
func (m *Manifest) addDir(root *os.Root, dir string) ([]string, error) {
	f, err := root.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("transfer: manifest: %w", err)
	}
	defer f.Close()
	children, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("transfer: manifest: %s: %w", dir, err)
	}
	var subdirs []string
	for _, c := range children {
		p := path.Join(dir, c.Name())
		if dir == "." && c.Name() == lostFound && c.IsDir() {
			continue
		}
		info, err := c.Info() // lstat, relative to the open directory
		if err != nil {
			return nil, fmt.Errorf("transfer: manifest: %s: %w", p, err)
		}
		e := entryOf(p, info)
		switch {
		case info.IsDir():
			subdirs = append(subdirs, p)
		case info.Mode().IsRegular():
			m.Files++
			m.TotalBytes += e.Size
		case info.Mode()&fs.ModeSymlink != 0:
			if e.Target, err = root.Readlink(p); err != nil {
				return nil, fmt.Errorf("transfer: manifest: %s: %w", p, err)
			}
		default:
			m.Skipped = append(m.Skipped, p)
			continue
		}
		m.Entries = append(m.Entries, e)
	}
	return subdirs, nil
}

func entryOf(p string, info fs.FileInfo) Entry {
	e := Entry{Path: p, Mode: unixMode(info.Mode()), MTime: info.ModTime().UnixNano()}
	switch {
	case info.IsDir():
		e.Type = TypeDir
	case info.Mode()&fs.ModeSymlink != 0:
		e.Type, e.MTime = TypeSymlink, 0
	default:
		e.Type, e.Size = TypeFile, info.Size()
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		e.UID, e.GID = int(st.Uid), int(st.Gid)
	}
	return e
}

// unixMode and fileMode convert between Go's and Unix's numbering of
// the setuid, setgid and sticky bits.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

func fileMode(u uint32) fs.FileMode {
	m := fs.FileMode(u & 0o777)
	if u&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// validPath reports whether p names something below the root: relative,
// slash-separated, clean, without "..".
func validPath(p string) bool {
	return p != "." && fs.ValidPath(p)
}
