package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"time"
)

// Copying one regular file: skipped when done, resumed when partial,
// verified end to end.

// placeFile skips a file the state records as copied and that is still
// as it was left; it continues the file being copied at the last
// checkpoint from its size; it copies any other from the start.
func (r *restorer) placeFile(ctx context.Context, e Entry) error {
	st, err := r.existing(e.Path, fs.FileMode.IsRegular)
	if err != nil {
		return err
	}
	done, ok := r.st.Files[e.Path]
	if ok && st != nil && done.Size == e.Size && done.MTime == e.MTime && st.Size() == e.Size && st.ModTime().UnixNano() == e.MTime {
		r.prog.Files++
		r.prog.BytesDone += e.Size
		r.emit(false)
		return nil
	}
	delete(r.st.Files, e.Path)
	var offset int64
	if st != nil && r.st.Partial == e.Path && st.Size() <= e.Size {
		offset = st.Size()
	}
	return r.copyFile(ctx, e, offset)
}

// copyFile copies one file from offset, which the bytes on disk reach
// already: they are hashed first, so the checksum covers the whole file.
// A file whose checksum does not match is removed.
func (r *restorer) copyFile(ctx context.Context, e Entry, offset int64) error {
	f, err := r.openForCopy(e.Path, offset)
	if err != nil {
		return err
	}
	defer f.Close()
	sum := sha256.New()
	if n, err := io.CopyBuffer(sum, io.LimitReader(f, offset), r.buf); err != nil || n != offset {
		return fmt.Errorf("transfer: %s: read what was copied: %d of %d bytes: %v", e.Path, n, offset, err)
	}
	r.st.Partial, r.dirty = e.Path, true
	if e.Size-offset >= bigFile {
		if err := r.checkpoint(); err != nil {
			return err
		}
	}
	base := r.prog.BytesDone
	r.prog.BytesDone += offset
	if err := r.fetch(ctx, e, offset, f, sum); err != nil {
		var mismatch *mismatchError
		if errors.As(err, &mismatch) {
			f.Close()
			_ = r.root.Remove(e.Path) // the next run copies it afresh
			r.st.Partial, r.prog.BytesDone = "", base
		}
		return err
	}
	if err := r.seal(f, e); err != nil {
		return err
	}
	r.st.Files[e.Path] = fileState{Size: e.Size, MTime: e.MTime, SHA256: hex.EncodeToString(sum.Sum(nil))}
	r.st.Partial = ""
	r.prog.Files++
	r.emit(false)
	return r.maybeCheckpoint()
}

// openForCopy opens a file to write from offset (truncating it when
// starting over), writable whoever runs the copy.
func (r *restorer) openForCopy(p string, offset int64) (*os.File, error) {
	if _, err := r.root.Lstat(p); err == nil {
		if err := r.root.Chmod(p, 0o600); err != nil {
			return nil, fmt.Errorf("transfer: %s: %w", p, err)
		}
	}
	f, err := r.root.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("transfer: %s: %w", p, err)
	}
	if offset == 0 {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("transfer: %s: %w", p, err)
		}
	}
	return f, nil
}

// mismatchError is a file whose copy does not have the source's
// checksum.
type mismatchError struct{ path, got, want string }

func (e *mismatchError) Error() string {
	return fmt.Sprintf("transfer: %s: checksum mismatch: the copy has sha256 %s, the source %s", e.path, e.got, e.want)
}

// fetch receives the file's bytes from offset into f (positioned there)
// and checks the whole file's checksum against the source's trailer.
func (r *restorer) fetch(ctx context.Context, e Entry, offset int64, f *os.File, sum hash.Hash) error {
	wait := headerTimeout + time.Duration(offset/prefixRate)*time.Second
	resp, err := r.get(ctx, "file", url.Values{"path": {e.Path}, "offset": {strconv.FormatInt(offset, 10)}}, wait)
	if err != nil {
		return fmt.Errorf("transfer: %s: %w", e.Path, err)
	}
	defer resp.close()
	if size := resp.Header.Get(HeaderSize); size != strconv.FormatInt(e.Size, 10) {
		return fmt.Errorf("transfer: %s: the source's file is now %s bytes, not %d: it changed during the copy", e.Path, size, e.Size)
	}
	n, err := r.receive(resp, f, sum)
	if err != nil {
		return fmt.Errorf("transfer: %s: %w", e.Path, err)
	}
	if offset+n != e.Size {
		return fmt.Errorf("transfer: %s: received %d bytes from offset %d, want %d", e.Path, n, offset, e.Size)
	}
	want, got := resp.Trailer.Get(TrailerSHA256), hex.EncodeToString(sum.Sum(nil))
	if want == "" {
		return fmt.Errorf("transfer: %s: the source sent no checksum", e.Path)
	}
	if got != want {
		return &mismatchError{path: e.Path, got: got, want: want}
	}
	return nil
}

// receive writes the body to f and into sum, a buffer at a time, and
// returns how many bytes it wrote.
func (r *restorer) receive(resp *response, f *os.File, sum hash.Hash) (int64, error) {
	var total int64
	read := func(buf []byte) (int, error) {
		n, err := fill(resp.Body, buf)
		if n > 0 {
			resp.touch()
		}
		return n, err
	}
	err := pipe(len(r.buf), read, func(buf []byte) error {
		sum.Write(buf)
		if _, err := f.Write(buf); err != nil {
			return err
		}
		total += int64(len(buf))
		r.prog.BytesDone += int64(len(buf))
		r.prog.Transferred += int64(len(buf))
		r.emit(false)
		return nil
	})
	return total, err
}

// fill reads into buf until it is full or the reader ends; unlike
// io.ReadFull, a clean end is io.EOF however much was read, so a cut
// connection (io.ErrUnexpectedEOF from the body) is never taken for one.
func fill(rd io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := rd.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// seal gives a copied file its owner, mode and time. The owner goes
// first: a chown clears the setuid and setgid bits.
func (r *restorer) seal(f *os.File, e Entry) error {
	if r.asRoot {
		if err := f.Chown(e.UID, e.GID); err != nil {
			return fmt.Errorf("transfer: %s: %w", e.Path, err)
		}
	}
	if err := f.Chmod(fileMode(e.Mode)); err != nil {
		return fmt.Errorf("transfer: %s: %w", e.Path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("transfer: %s: %w", e.Path, err)
	}
	t := time.Unix(0, e.MTime)
	if err := r.root.Chtimes(e.Path, t, t); err != nil {
		return fmt.Errorf("transfer: %s: %w", e.Path, err)
	}
	return nil
}
