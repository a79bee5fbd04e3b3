package agent

import (
	"context"
	"io"
	"net/http"
	"os"
	"time"
)

// logPollInterval is how often a followed log is checked for more output.
const logPollInterval = 100 * time.Millisecond

// streamLog writes the file at path to w: all of it, or its last tail
// lines (tail < 0: all). With follow it keeps writing what is appended
// until the container stops writing this file (stillWriting turns false
// and nothing more is left) or ctx ends. A file truncated by log rotation
// is read again from its start.
func streamLog(ctx context.Context, w http.ResponseWriter, path string, tail int64, follow bool, stillWriting func() bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if tail >= 0 {
		if err := seekTail(f, tail); err != nil {
			return err
		}
	}
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	t := time.NewTicker(logPollInterval)
	defer t.Stop()
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		_ = rc.Flush()
		if !follow {
			return nil
		}
		if !stillWriting() {
			// One last read for output written just before the end.
			if _, err := io.Copy(w, f); err != nil {
				return err
			}
			return rc.Flush()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if pos, err := f.Seek(0, io.SeekCurrent); err == nil {
			if st, err := f.Stat(); err == nil && st.Size() < pos {
				_, _ = f.Seek(0, io.SeekStart)
			}
		}
	}
}

// seekTail positions f at the start of its last n lines.
func seekTail(f *os.File, n int64) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if n == 0 {
		_, err := f.Seek(size, io.SeekStart)
		return err
	}
	const chunk = 32 << 10
	buf := make([]byte, chunk)
	pos, lines := size, int64(0)
	// A final newline ends the last line; it does not start another.
	skipLast := true
	for pos > 0 {
		step := min(int64(chunk), pos)
		pos -= step
		if _, err := f.ReadAt(buf[:step], pos); err != nil && err != io.EOF {
			return err
		}
		b := buf[:step]
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				continue
			}
			if skipLast && pos+int64(i) == size-1 {
				continue
			}
			lines++
			if lines == n {
				_, err := f.Seek(pos+int64(i)+1, io.SeekStart)
				return err
			}
		}
		skipLast = false
	}
	_, err = f.Seek(0, io.SeekStart)
	return err
}
