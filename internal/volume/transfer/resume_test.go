package transfer

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// cutAfter aborts every file response once it has sent limit bytes of
// body: the connection drops mid-file.
func cutAfter(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(&cutter{ResponseWriter: w, left: limit}, r)
		})
	}
}

type cutter struct {
	http.ResponseWriter
	left int64
}

func (c *cutter) Write(p []byte) (int, error) {
	if int64(len(p)) <= c.left {
		c.left -= int64(len(p))
		return c.ResponseWriter.Write(p)
	}
	n, _ := c.ResponseWriter.Write(p[:c.left])
	_ = http.NewResponseController(c.ResponseWriter).Flush()
	c.left = 0
	_ = n
	panic(http.ErrAbortHandler)
}

// TestResumeAfterCutConnection: a connection cut in the middle of the
// big file leaves what arrived on disk and in the state; the next run
// continues that file from where it stopped — receiving less than the
// whole tree — and the result is identical to the source.
func TestResumeAfterCutConnection(t *testing.T) {
	const big = 8 << 20
	src := makeTree(t, big)
	dst, state := t.TempDir(), filepath.Join(t.TempDir(), "state.json")
	first, _, err := restore(t, serve(t, src, cutAfter(3<<20+5)), dst, state)
	if err == nil {
		t.Fatal("a cut connection did not fail the restore")
	}
	st := loadState(state, "m-1")
	if st.Partial != "a/big.bin" {
		t.Fatalf("state after the cut: %+v, want a/big.bin partial", st)
	}
	part, err := os.Stat(filepath.Join(dst, "a", "big.bin"))
	if err != nil || part.Size() == 0 || part.Size() >= big {
		t.Fatalf("partial file: %v %v, want some of %d bytes", part, err, big)
	}

	second, _, err := restore(t, serve(t, src, nil), dst, state)
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, dst)
	if !second.Done || second.Transferred >= second.BytesTotal || second.Transferred != second.BytesTotal-first.Transferred {
		t.Fatalf("second run transferred %d of %d (the first %d): want only the rest", second.Transferred, second.BytesTotal, first.Transferred)
	}
	t.Logf("first run %d bytes, second %d of %d", first.Transferred, second.Transferred, second.BytesTotal)
}

// TestResumeAfterCancel: a restore cancelled in the middle of a file
// (an agent stopping) resumes in a new run, as after a restart; each
// byte crosses the network once. The source cancels the restore once it
// has sent 4 MiB of the big file, so the cut is at a known place
// whatever the speed of the machine.
func TestResumeAfterCancel(t *testing.T) {
	src := makeTree(t, 32<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := serve(t, src, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(&bodyHook{ResponseWriter: w, onWrite: func(_ []byte, off int64) {
				if off < 4<<20 {
					return
				}
				_ = http.NewResponseController(w).Flush()
				cancel()
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			}}, r)
		})
	})
	dst, state := t.TempDir(), filepath.Join(t.TempDir(), "state.json")
	first, err := Restore(ctx, f.src, dst, state, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if st := loadState(state, "m-1"); st.Partial != "a/big.bin" || first.Transferred == 0 {
		t.Fatalf("after the cancel: state %+v, %d bytes transferred", st, first.Transferred)
	}
	second, _, err := restore(t, serve(t, src, nil), dst, state)
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, dst)
	if second.Transferred+first.Transferred != second.BytesTotal || second.Transferred >= second.BytesTotal {
		t.Fatalf("transferred %d then %d of %d: want each byte once", first.Transferred, second.Transferred, second.BytesTotal)
	}
	t.Logf("first run %d bytes, second %d of %d", first.Transferred, second.Transferred, second.BytesTotal)
}

// TestResumedPrefixVerified: bytes of a partial file changed on disk
// between runs are caught by the end-to-end checksum — the resumed file
// fails and is discarded — and the run after copies it whole.
func TestResumedPrefixVerified(t *testing.T) {
	src := makeTree(t, 4<<20)
	dst, state := t.TempDir(), filepath.Join(t.TempDir(), "state.json")
	if _, _, err := restore(t, serve(t, src, cutAfter(1<<20)), dst, state); err == nil {
		t.Fatal("a cut connection did not fail the restore")
	}
	part := filepath.Join(dst, "a", "big.bin")
	fh, err := os.OpenFile(part, os.O_WRONLY, 0)
	if err == nil {
		_, err = fh.WriteAt([]byte("rot"), 100)
		fh.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	f := serve(t, src, nil)
	var mm *mismatchError
	if _, _, err := restore(t, f, dst, state); !errors.As(err, &mm) {
		t.Fatalf("error %v, want a checksum mismatch", err)
	}
	if _, _, err := restore(t, f, dst, state); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, dst)
}
