package fence

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Interval is how often the watchdog reads its directory: a pod is
// killed at most about this long after its deadline.
const Interval = 100 * time.Millisecond

// GiveUp bounds how long the watchdog keeps killing one pod's processes
// (a process in uninterruptible sleep dies only when it wakes).
const GiveUp = 5 * time.Second

// killPause is the pause between two kill rounds of one pod: processes
// take a moment to die after SIGKILL.
const killPause = 10 * time.Millisecond

// watchdog is one running Watch.
type watchdog struct {
	dir   string
	log   *slog.Logger
	cache map[string]cachedFile // by uid; only the scan loop touches it
	wg    sync.WaitGroup

	mu   sync.Mutex
	busy map[string]bool // uids being killed
}

// cachedFile is a fence file as last read: read again only when the file
// is replaced (every write is a rename) or changes.
type cachedFile struct {
	info os.FileInfo
	file File
	err  error
}

// Watch is the fence watchdog: every Interval it reads the fence files in
// dir, and for each whose deadline has passed it SIGKILLs every process
// of the pod — those in its cgroups (cgroup.kill on v2 when the kernel
// has it) and in its process groups — again and again until none is left
// or GiveUp passes, then replaces the file by a Record (<uid>.fenced).
//
// One watchdog runs per dir: Watch holds an flock on dir/watchdog.lock and
// returns ErrAlreadyRunning when another holds it. It returns nil when
// ctx ends, or when dir (or its lock file) is removed: a node whose data
// dir is gone has nothing left to fence.
func Watch(ctx context.Context, dir string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("fence: directory %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	held, err := lock.Stat()
	if err != nil {
		return fmt.Errorf("fence: lock: %w", err)
	}
	w := &watchdog{dir: dir, log: log, cache: map[string]cachedFile{}, busy: map[string]bool{}}
	defer w.wg.Wait()
	log.Info("fence watchdog started", "dir", dir, "pid", os.Getpid())
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		if cur, err := os.Stat(lock.Name()); err != nil || !os.SameFile(cur, held) {
			log.Info("the fence directory or its lock is gone: the watchdog stops", "dir", dir)
			return nil
		}
		w.scan()
		select {
		case <-ctx.Done():
			log.Info("fence watchdog stopped", "dir", dir)
			return nil
		case <-t.C:
		}
	}
}

// scan fences every pod whose deadline has passed.
func (w *watchdog) scan() {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		w.log.Error("cannot read the fence directory", "dir", w.dir, "err", err)
		return
	}
	now := time.Now()
	seen := map[string]bool{}
	for _, e := range entries {
		uid, ok := strings.CutSuffix(e.Name(), fileSuffix)
		if !ok || checkUID(uid) != nil {
			continue
		}
		seen[uid] = true
		f, ok := w.read(uid)
		if ok && !now.Before(f.Deadline) {
			w.fence(f)
		}
	}
	for uid := range w.cache {
		if !seen[uid] {
			delete(w.cache, uid)
		}
	}
}

// read returns uid's fence file, from the cache while the file is
// unchanged. An unreadable file is logged once per version.
func (w *watchdog) read(uid string) (File, bool) {
	path := filepath.Join(w.dir, uid+fileSuffix)
	info, err := os.Stat(path)
	if err != nil {
		return File{}, false // removed since the directory was read
	}
	c, ok := w.cache[uid]
	if !ok || !os.SameFile(c.info, info) || !c.info.ModTime().Equal(info.ModTime()) || c.info.Size() != info.Size() {
		c = cachedFile{info: info}
		c.file, c.err = Read(w.dir, uid)
		if c.err != nil && !errors.Is(c.err, fs.ErrNotExist) {
			w.log.Error("cannot read a fence file", "uid", uid, "err", c.err)
		}
		if c.err == nil && c.file.UID != uid {
			c.err = errors.New("fence: the file names another pod")
			w.log.Error("a fence file names another pod", "file", path, "uid", c.file.UID)
		}
		w.cache[uid] = c
	}
	return c.file, c.err == nil
}

// fence kills the pod's processes in the background, unless that is
// already under way.
func (w *watchdog) fence(f File) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.busy[f.UID] {
		return
	}
	w.busy[f.UID] = true
	w.wg.Go(func() {
		w.kill(f)
		w.mu.Lock()
		delete(w.busy, f.UID)
		w.mu.Unlock()
	})
}

// kill SIGKILLs the pod's processes until none is left, records it, and
// removes the fence file unless it has meanwhile been given a later
// deadline.
func (w *watchdog) kill(f File) {
	start := time.Now()
	k := newKiller(f)
	left := 0
	for {
		k.round()
		if left = k.alive(); left == 0 || time.Since(start) > GiveUp {
			break
		}
		time.Sleep(killPause)
	}
	rec := Record{File: f, KilledAt: start, Done: time.Now(), Killed: len(k.killed), Survivors: left}
	if prev, err := ReadRecord(w.dir, f.UID); err == nil && prev.Deadline.Equal(f.Deadline) {
		// Another pass for the same deadline (the agent wrote the file
		// again before it learnt of the first): one fencing.
		rec.KilledAt, rec.Killed = prev.KilledAt, prev.Killed+rec.Killed
	}
	attrs := []any{"pod", f.Pod, "uid", f.UID, "deadline", f.Deadline, "late", start.Sub(f.Deadline).Round(time.Millisecond),
		"killed", len(k.killed), "took", rec.Done.Sub(start).Round(time.Millisecond)}
	for _, err := range k.errs {
		w.log.Error("cannot kill a process of a fenced pod", append(attrs, "err", err)...)
	}
	if left > 0 {
		w.log.Error("processes of a fenced pod survived SIGKILL", append(attrs, "survivors", left)...)
	} else {
		w.log.Warn("fenced a pod: its deadline passed", attrs...)
	}
	if err := writeJSON(filepath.Join(w.dir, f.UID+recordSuffix), rec); err != nil {
		w.log.Error("cannot record a fencing", "uid", f.UID, "err", err)
	}
	if cur, err := Read(w.dir, f.UID); err == nil && !cur.Deadline.After(f.Deadline) {
		if err := os.Remove(filepath.Join(w.dir, f.UID+fileSuffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.log.Error("cannot remove a fence file", "uid", f.UID, "err", err)
		}
	}
}
