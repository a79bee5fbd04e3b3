package transfer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Progress is how far a restore is.
type Progress struct {
	// BytesDone counts the bytes of the files in place: copied, resumed
	// from an earlier run, or being copied.
	BytesDone  int64
	BytesTotal int64
	// Files counts the files copied and verified, FilesTotal all of them.
	Files      int
	FilesTotal int
	// Transferred is what this run received from the source.
	Transferred int64
	// Done: every entry is in place, verified and flushed to disk.
	Done bool
}

// Pacing of a restore: how often progress is reported at most, how
// often a checkpoint is made at most, and the size from which a file is
// preceded by a checkpoint (so a crash in its middle resumes it there).
const (
	progressInterval   = 250 * time.Millisecond
	checkpointInterval = time.Second
	bigFile            = 16 << 20
)

// restorer is one run of Restore.
type restorer struct {
	src       Source
	hc        *http.Client
	stateFile string
	root      *os.Root
	asRoot    bool // owners can be restored
	st        *state
	dirty     bool // st holds what the state file does not yet
	prog      Progress
	report    func(Progress)
	buf       []byte

	lastReport, lastCheckpoint time.Time
}

// Restore makes dir hold exactly the tree the source serves: it copies
// what is missing or different, verifying every file's SHA-256 end to
// end, and removes what the source does not have (never anything outside
// dir). Its state file, outside dir, records what is done: a run after
// an interruption skips the files copied and continues a partial file
// from where it stopped; a run after a complete one copies nothing.
// progress, if set, is called once the manifest is read (with the
// totals), then at most every 250 ms, and once at the end, on the
// caller's goroutine. Everything is flushed to disk before
// Restore reports Done. It returns the last progress.
func Restore(ctx context.Context, src Source, dir, stateFile string, progress func(Progress)) (Progress, error) {
	if err := src.Validate(); err != nil {
		return Progress{}, err
	}
	if err := outside(dir, stateFile); err != nil {
		return Progress{}, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Progress{}, fmt.Errorf("transfer: dir: %w", err)
	}
	defer root.Close()
	hc := newHTTPClient(src.CertSHA256)
	defer hc.CloseIdleConnections()
	r := &restorer{src: src, hc: hc, stateFile: stateFile, root: root, asRoot: os.Geteuid() == 0,
		report: progress, lastCheckpoint: time.Now()}
	err = r.run(ctx)
	return r.prog, err
}

// outside checks that the state file is not inside dir, where the
// restore would remove it.
func outside(dir, stateFile string) error {
	d, err1 := filepath.Abs(dir)
	s, err2 := filepath.Abs(stateFile)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("transfer: %w", err)
	}
	if rel, err := filepath.Rel(d, s); err == nil && filepath.IsLocal(rel) {
		return fmt.Errorf("transfer: state file %s must be outside dir %s", stateFile, dir)
	}
	return nil
}

func (r *restorer) run(ctx context.Context) (err error) {
	m, err := r.fetchManifest(ctx)
	if err != nil {
		return err
	}
	r.st = loadState(r.stateFile, r.src.ID)
	r.st.Complete = false
	r.prog.BytesTotal, r.prog.FilesTotal = m.TotalBytes, m.Files
	r.buf = make([]byte, min(bufferSize, max(m.TotalBytes, 1)))
	r.emit(true) // the totals, before anything is copied
	defer func() {
		if err != nil && r.dirty {
			// What reached the disk is kept for the next run.
			err = errors.Join(err, r.checkpoint())
		}
	}()
	if err := r.prune(m); err != nil {
		return err
	}
	for _, e := range m.Entries {
		if err := r.place(ctx, e); err != nil {
			return err
		}
	}
	if err := r.finish(m); err != nil {
		return err
	}
	r.st.Complete, r.st.Partial, r.dirty = true, "", true
	if err := r.checkpoint(); err != nil {
		return err
	}
	r.prog.Done = true
	r.emit(true)
	return nil
}

// emit reports progress, at most every progressInterval unless forced.
func (r *restorer) emit(force bool) {
	if r.report == nil {
		return
	}
	if now := time.Now(); force || now.Sub(r.lastReport) >= progressInterval {
		r.lastReport = now
		r.report(r.prog)
	}
}

// checkpoint flushes dir's filesystem (one syncfs rather than an fsync
// per file and directory), then writes the state, so the state never
// records as done what a crash could lose.
func (r *restorer) checkpoint() error {
	d, err := r.root.Open(".")
	if err != nil {
		return fmt.Errorf("transfer: sync: %w", err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("transfer: sync %s: %w", r.root.Name(), err)
	}
	if err := r.st.save(r.stateFile); err != nil {
		return err
	}
	r.dirty, r.lastCheckpoint = false, time.Now()
	return nil
}

func (r *restorer) maybeCheckpoint() error {
	if r.dirty && time.Since(r.lastCheckpoint) >= checkpointInterval {
		return r.checkpoint()
	}
	return nil
}

// prune removes from dir what the manifest does not have, before the
// copy, so the room it takes is free for it. Only the directories the
// manifest lists are looked into; the os.Root keeps every removal
// inside dir.
func (r *restorer) prune(m *Manifest) error {
	want := make(map[string]bool, len(m.Entries))
	for _, e := range m.Entries {
		want[e.Path] = true
	}
	for _, e := range m.Entries {
		if e.Type != TypeDir {
			continue
		}
		if st, err := r.root.Lstat(e.Path); err != nil || !st.IsDir() {
			continue // made, or replaced, when its turn comes
		}
		f, err := r.root.Open(e.Path)
		if err != nil {
			return fmt.Errorf("transfer: prune %s: %w", e.Path, err)
		}
		children, err := f.ReadDir(-1)
		f.Close()
		if err != nil {
			return fmt.Errorf("transfer: prune %s: %w", e.Path, err)
		}
		for _, c := range children {
			p := path.Join(e.Path, c.Name())
			if want[p] || (e.Path == "." && c.Name() == lostFound && c.IsDir()) {
				continue
			}
			if err := r.root.RemoveAll(p); err != nil {
				return fmt.Errorf("transfer: remove %s: %w", p, err)
			}
			delete(r.st.Files, p)
		}
	}
	return nil
}

// place makes one entry exist with the right type (and content, for a
// file); modes, owners and times come last, in finish.
func (r *restorer) place(ctx context.Context, e Entry) error {
	switch e.Type {
	case TypeDir:
		return r.placeDir(e)
	case TypeSymlink:
		return r.placeSymlink(e)
	}
	return r.placeFile(ctx, e)
}

// existing lstats p and removes it when it is not of the wanted kind.
func (r *restorer) existing(p string, kind func(fs.FileMode) bool) (fs.FileInfo, error) {
	st, err := r.root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("transfer: %s: %w", p, err)
	}
	if kind(st.Mode()) {
		return st, nil
	}
	if err := r.root.RemoveAll(p); err != nil {
		return nil, fmt.Errorf("transfer: replace %s: %w", p, err)
	}
	return nil, nil
}

func (r *restorer) placeDir(e Entry) error {
	st, err := r.existing(e.Path, fs.FileMode.IsDir)
	if err != nil {
		return err
	}
	if st == nil {
		err = r.root.Mkdir(e.Path, 0o700)
	} else if st.Mode().Perm()&0o700 != 0o700 {
		// Writable while it is filled, whoever runs the copy.
		err = r.root.Chmod(e.Path, st.Mode().Perm()|0o700)
	}
	if err != nil {
		return fmt.Errorf("transfer: directory %s: %w", e.Path, err)
	}
	return nil
}

func (r *restorer) placeSymlink(e Entry) error {
	st, err := r.existing(e.Path, func(m fs.FileMode) bool { return m&fs.ModeSymlink != 0 })
	if err != nil {
		return err
	}
	if st != nil {
		if t, err := r.root.Readlink(e.Path); err == nil && t == e.Target {
			return nil
		}
		if err := r.root.Remove(e.Path); err != nil {
			return fmt.Errorf("transfer: replace symlink %s: %w", e.Path, err)
		}
	}
	if err := r.root.Symlink(e.Target, e.Path); err != nil {
		return fmt.Errorf("transfer: symlink %s: %w", e.Path, err)
	}
	return nil
}

// finish gives every entry its owner and mode, and directories their
// times, deepest first, once nothing more is written into them.
func (r *restorer) finish(m *Manifest) error {
	for i := len(m.Entries) - 1; i >= 0; i-- {
		e := m.Entries[i]
		var err error
		if r.asRoot {
			err = r.root.Lchown(e.Path, e.UID, e.GID)
		}
		if err == nil && e.Type != TypeSymlink {
			err = r.root.Chmod(e.Path, fileMode(e.Mode))
		}
		if err == nil && e.Type == TypeDir {
			t := time.Unix(0, e.MTime)
			err = r.root.Chtimes(e.Path, t, t)
		}
		if err != nil {
			return fmt.Errorf("transfer: %s: %w", e.Path, err)
		}
	}
	return nil
}
