package process

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kennel-dev/kennel/internal/runtime"
)

// openLog opens (appending) the log file of one start of a container. The
// process writes to it directly, so its output is kept while the agent is
// down.
func (r *Runtime) openLog(uid, name string, attempt int) (*os.File, error) {
	path := r.logPath(uid, name, attempt)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// LogPath implements runtime.Runtime.
func (r *Runtime) LogPath(uid, name string, previous bool) (string, error) {
	r.mu.Lock()
	c, err := r.containerLocked(uid, name)
	r.mu.Unlock()
	if err != nil {
		return "", err
	}
	attempt := c.rec.Current.Attempt
	if previous {
		if c.rec.Previous == nil {
			return "", fmt.Errorf("process runtime: container %q has no previous start: %w", name, runtime.ErrNotFound)
		}
		attempt = c.rec.Previous.Attempt
	}
	return r.logPath(uid, name, attempt), nil
}

// pruneLogs removes the logs of starts older than the previous one.
func (r *Runtime) pruneLogs(uid, name string, attempt int) {
	dir := filepath.Dir(r.logPath(uid, name, 0))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		n, _, _ := strings.Cut(e.Name(), ".")
		a, err := strconv.Atoi(n)
		if err == nil && a < attempt-1 {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// rotateLoop keeps running containers' logs under LogMaxBytes.
func (r *Runtime) rotateLoop() {
	t := time.NewTicker(r.cfg.LogCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.RotateLogs()
		}
	}
}

// RotateLogs rotates every running container's log that has grown past
// LogMaxBytes. The process holds its log open for appending, so the file
// is copied to <attempt>.log.1 (older copies shift up to LogMaxFiles) and
// then truncated in place; what is written between the copy and the
// truncation is lost.
func (r *Runtime) RotateLogs() {
	r.mu.Lock()
	var paths []string
	for uid, p := range r.pods {
		for name, c := range p.containers {
			if c.rec.Current.State == runtime.StateRunning {
				paths = append(paths, r.logPath(uid, name, c.rec.Current.Attempt))
			}
		}
	}
	r.mu.Unlock()
	for _, path := range paths {
		if st, err := os.Stat(path); err == nil && st.Size() > r.cfg.LogMaxBytes {
			if err := rotate(path, r.cfg.LogMaxFiles); err != nil {
				r.log.Warn("cannot rotate container log", "path", path, "err", err)
			}
		}
	}
}

func rotate(path string, keep int) error {
	for i := keep - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", path, i), fmt.Sprintf("%s.%d", path, i+1))
	}
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(path+".1", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Truncate(path, 0)
}
