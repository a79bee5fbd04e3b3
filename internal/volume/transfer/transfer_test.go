package transfer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests copy real trees of files over real TLS on 127.0.0.1,
// from a Handler behind httptest's TLS server to Restore.

const testToken = "s3cret-token"

// fixture is a Handler serving root over TLS, and the Source that pulls
// from it.
type fixture struct {
	srv  *httptest.Server
	src  Source
	root string
}

// serve serves root; wrap, if set, stands between the server and the
// handler (to cut or corrupt what it sends).
func serve(t *testing.T, root string, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	var h http.Handler = &Handler{Root: root, TokenSHA256: TokenSHA256(testToken)}
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(srv.Certificate().Raw)
	return &fixture{srv: srv, root: root, src: Source{ID: "m-1", URL: srv.URL + "/volumes/default/data",
		CertSHA256: hex.EncodeToString(sum[:]), Token: testToken}}
}

// makeTree writes a tree with nested directories, an empty file, modes,
// symlinks (one pointing out of the tree), a FIFO (not copied) and a
// file of size big of random bytes.
func makeTree(t *testing.T, big int) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "a", "b", "c"), 0o755))
	must(os.WriteFile(filepath.Join(root, "empty"), nil, 0o644))
	must(os.WriteFile(filepath.Join(root, "a", "b", "c", "deep.txt"), []byte("deep\n"), 0o640))
	must(os.WriteFile(filepath.Join(root, "a", "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(os.Symlink("b/c/deep.txt", filepath.Join(root, "a", "rel-link")))
	must(os.Symlink("/etc/passwd", filepath.Join(root, "abs-link")))
	must(syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600))
	data := make([]byte, big)
	_, _ = rand.Read(data)
	must(os.WriteFile(filepath.Join(root, "a", "big.bin"), data, 0o600))
	must(os.Chmod(filepath.Join(root, "a", "b"), 0o750))
	must(os.Chmod(filepath.Join(root, "a", "b", "c"), 0o2770))
	if os.Geteuid() == 0 {
		must(os.Lchown(filepath.Join(root, "a", "b", "c", "deep.txt"), 1234, 5678))
		must(os.Lchown(filepath.Join(root, "a", "rel-link"), 1234, 5678))
	}
	return root
}

// tree describes every entry below dir: type, mode, owner, size and
// content hash, link target, and the times of files and directories.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", info.Mode(), st.Uid, st.Gid)
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case info.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			sum := sha256.Sum256(b)
			desc += fmt.Sprintf(" %d %x %d", len(b), sum[:8], info.ModTime().UnixNano())
		case info.IsDir() && rel != ".":
			desc += fmt.Sprintf(" %d", info.ModTime().UnixNano())
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, src, dst string) {
	t.Helper()
	want, got := tree(t, src), tree(t, dst)
	delete(want, "fifo") // special files are not copied
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: got %q, want %q", p, got[p], w)
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: %q is not in the source", p, g)
		}
	}
}

func restore(t *testing.T, f *fixture, dst, stateFile string) (Progress, []Progress, error) {
	t.Helper()
	var seen []Progress
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := Restore(ctx, f.src, dst, stateFile, func(p Progress) { seen = append(seen, p) })
	return p, seen, err
}

// TestRoundTrip: a tree arrives whole — types, modes, owners, times,
// symlinks as they are — and what the target had that the source has
// not is gone; a second run copies nothing and changes nothing.
func TestRoundTrip(t *testing.T) {
	src := makeTree(t, 5<<20+123)
	f := serve(t, src, nil)
	dst, state := t.TempDir(), filepath.Join(t.TempDir(), "state.json")
	if err := os.MkdirAll(filepath.Join(dst, "stale", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "a-junk"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, seen, err := restore(t, f, dst, state)
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, dst)
	total := int64(5<<20 + 123 + len("deep\n") + len("#!/bin/sh\necho hi\n"))
	if !p.Done || p.BytesDone != total || p.BytesTotal != total || p.Files != 4 || p.FilesTotal != 4 || p.Transferred != total {
		t.Fatalf("final progress %+v, want all %d bytes of 4 files done", p, total)
	}
	if len(seen) == 0 || seen[len(seen)-1] != p {
		t.Fatalf("the last progress reported is %+v, want the final one %+v", seen, p)
	}

	again, _, err := restore(t, f, dst, state)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Done || again.Transferred != 0 || again.BytesDone != total {
		t.Fatalf("second run: %+v, want done with nothing transferred", again)
	}
	sameTree(t, src, dst)
}

// TestRefused: a wrong token or a certificate other than the pinned one
// gets nothing, and nothing is written.
func TestRefused(t *testing.T) {
	f := serve(t, makeTree(t, 1<<10), nil)
	for name, mutate := range map[string]func(*Source){
		"wrong token": func(s *Source) { s.Token = "guess" },
		"wrong pin":   func(s *Source) { s.CertSHA256 = strings.Repeat("ab", 32) },
	} {
		t.Run(name, func(t *testing.T) {
			src := f.src
			mutate(&src)
			dst := t.TempDir()
			_, err := Restore(context.Background(), src, dst, filepath.Join(t.TempDir(), "state"), nil)
			var se *StatusError
			switch {
			case err == nil:
				t.Fatal("the restore succeeded")
			case name == "wrong token" && (!errors.As(err, &se) || se.Code != http.StatusUnauthorized):
				t.Fatalf("error %v, want 401", err)
			case name == "wrong pin" && !strings.Contains(err.Error(), "not the pinned one"):
				t.Fatalf("error %v, want a pin mismatch", err)
			}
			if entries, _ := os.ReadDir(dst); len(entries) > 0 {
				t.Fatalf("a refused restore wrote %v", entries)
			}
		})
	}
}

// TestPathEscapeRefused: the file operation serves regular files inside
// the root reached through real directories only.
func TestPathEscapeRefused(t *testing.T) {
	root := makeTree(t, 1<<10)
	if err := os.Symlink("a/b", filepath.Join(root, "dir-link")); err != nil {
		t.Fatal(err)
	}
	f := serve(t, root, nil)
	hc := newHTTPClient(f.src.CertSHA256)
	for path, want := range map[string]int{
		"../../etc/passwd":    http.StatusBadRequest,
		"/etc/passwd":         http.StatusBadRequest,
		"a/../../x":           http.StatusBadRequest,
		"abs-link":            http.StatusBadRequest, // a symlink, not followed
		"dir-link/c/deep.txt": http.StatusBadRequest, // through a symlinked directory
		"fifo":                http.StatusBadRequest,
		"a":                   http.StatusBadRequest,
		"missing":             http.StatusNotFound,
		"a/run.sh":            http.StatusOK,
	} {
		req, _ := http.NewRequest(http.MethodGet, f.src.URL+"/file?path="+path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("file?path=%s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
	}
}

// corruptByte flips the byte at offset at of every file response body.
func corruptByte(at int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(&bodyHook{ResponseWriter: w, onWrite: func(p []byte, off int64) {
				if at >= off && at < off+int64(len(p)) {
					p[at-off] ^= 0xff
				}
			}}, r)
		})
	}
}

// bodyHook lets a test see (and change) a response body as it is
// written; trailers still pass through the wrapped writer's header.
type bodyHook struct {
	http.ResponseWriter
	written int64
	onWrite func(p []byte, off int64)
}

func (b *bodyHook) Write(p []byte) (int, error) {
	b.onWrite(p, b.written)
	b.written += int64(len(p))
	return b.ResponseWriter.Write(p)
}

// TestChecksumMismatchDetected: a byte changed on the way fails the
// restore naming the file, which is discarded; a clean run then
// completes.
func TestChecksumMismatchDetected(t *testing.T) {
	src := makeTree(t, 3<<20)
	dst, state := t.TempDir(), filepath.Join(t.TempDir(), "state.json")
	_, _, err := restore(t, serve(t, src, corruptByte(2<<20+7)), dst, state)
	var mm *mismatchError
	if !errors.As(err, &mm) || !strings.Contains(err.Error(), "a/big.bin") {
		t.Fatalf("error %v, want a checksum mismatch naming a/big.bin", err)
	}
	if _, err := os.Lstat(filepath.Join(dst, "a", "big.bin")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the corrupt file was kept: %v", err)
	}
	if _, _, err := restore(t, serve(t, src, nil), dst, state); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, dst)
}
