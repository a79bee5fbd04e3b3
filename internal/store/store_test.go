package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func startTestStore(t *testing.T) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Start(ctx, Config{DataDir: t.TempDir(), CompactionInterval: -1})
	if err != nil {
		t.Fatalf("start store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"embedded needs data dir", Config{}, "config.DataDir"},
		{"bad endpoint hides url", Config{Endpoints: []string{"ftp://user:secret@x"}}, "config.Endpoints[0]"},
		{"cert without key", Config{DataDir: "d", CertFile: "c"}, "config.CertFile"},
		{"relative prefix", Config{DataDir: "d", Prefix: "k"}, "config.Prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want error naming %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error leaks credentials: %v", err)
			}
		})
	}
	if err := (&Config{DataDir: "d"}).Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

func TestCRUD(t *testing.T) {
	s := startTestStore(t)
	ctx := context.Background()
	k := s.Prefix() + "/things/a"
	rev, err := s.Create(ctx, k, []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, k, []byte("x")); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	kv, err := s.Get(ctx, k)
	if err != nil || string(kv.Value) != "1" || kv.Revision != rev {
		t.Fatalf("get: %+v %v", kv, err)
	}
	rev2, _, err := s.Update(ctx, k, []byte("2"), rev)
	if err != nil || rev2 <= rev {
		t.Fatalf("update: %d %v", rev2, err)
	}
	_, cur, err := s.Update(ctx, k, []byte("3"), rev)
	if !errors.Is(err, ErrConflict) || string(cur.Value) != "2" {
		t.Fatalf("stale update: %v %+v, want ErrConflict with current value", err, cur)
	}
	if _, _, err := s.Delete(ctx, k, rev); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale delete: %v", err)
	}
	prev, _, err := s.Delete(ctx, k, rev2)
	if err != nil || string(prev.Value) != "2" {
		t.Fatalf("delete: %+v %v", prev, err)
	}
	if _, err := s.Get(ctx, k); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, _, err := s.Update(ctx, k, []byte("4"), rev2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update after delete: %v", err)
	}
	if _, _, err := s.Delete(ctx, k, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete after delete: %v", err)
	}
}

func TestListPagination(t *testing.T) {
	s := startTestStore(t)
	ctx := context.Background()
	p := s.Prefix() + "/items/"
	for i := 0; i < 25; i++ {
		if _, err := s.Create(ctx, fmt.Sprintf("%s%02d", p, i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A key outside the prefix that sorts right after it must not appear.
	if _, err := s.Create(ctx, s.Prefix()+"/items0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	var got []string
	opts := ListOptions{Limit: 10}
	var firstRev int64
	for page := 0; ; page++ {
		res, err := s.List(ctx, p, opts)
		if err != nil {
			t.Fatal(err)
		}
		if page == 0 {
			firstRev = res.Revision
			// A write between pages must not show up: pages read one revision.
			if _, err := s.Create(ctx, p+"99", nil); err != nil {
				t.Fatal(err)
			}
		} else if res.Revision != firstRev {
			t.Fatalf("page %d read at %d, first at %d", page, res.Revision, firstRev)
		}
		for _, kv := range res.KVs {
			got = append(got, kv.Key)
		}
		if res.Continue == "" {
			break
		}
		opts.Continue = res.Continue
	}
	if len(got) != 25 || got[0] != p+"00" || got[24] != p+"24" {
		t.Fatalf("listed %d keys: %v", len(got), got)
	}
	if _, err := s.List(ctx, p, ListOptions{Continue: "garbage"}); !errors.Is(err, ErrBadContinue) {
		t.Fatalf("bad continue: %v", err)
	}
}

func TestWatchResumeAndCompaction(t *testing.T) {
	s := startTestStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := s.Prefix() + "/w/"
	start, _ := s.CurrentRevision(ctx)
	wctx, stop := context.WithCancel(ctx)
	ch := s.Watch(wctx, p, start+1)
	var revs []int64
	for i := 0; i < 5; i++ {
		rev, err := s.Create(ctx, fmt.Sprintf("%s%d", p, i), []byte("v"))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, rev)
	}
	// Read three, cut the watch, write more, resume after the last seen.
	var last int64
	for i := 0; i < 3; i++ {
		ev := <-ch
		if ev.Err != nil || !ev.IsCreate() {
			t.Fatalf("event %d: %+v", i, ev)
		}
		last = ev.KV.Revision
	}
	stop()
	for i := 5; i < 8; i++ {
		rev, _ := s.Create(ctx, fmt.Sprintf("%s%d", p, i), []byte("v"))
		revs = append(revs, rev)
	}
	ch = s.Watch(ctx, p, last+1)
	for _, want := range revs[3:] {
		select {
		case ev := <-ch:
			if ev.Err != nil || ev.KV.Revision != want {
				t.Fatalf("resumed event: %+v, want revision %d", ev, want)
			}
		case <-ctx.Done():
			t.Fatal("timed out waiting for resumed events")
		}
	}
	// Compact past the start, then a watch or list from there must fail
	// with ErrCompacted.
	cur, _ := s.CurrentRevision(ctx)
	if err := s.Compact(ctx, cur); err != nil {
		t.Fatal(err)
	}
	ev := <-s.Watch(ctx, p, start+1)
	if !errors.Is(ev.Err, ErrCompacted) {
		t.Fatalf("watch from compacted revision: %+v", ev)
	}
	if _, err := s.List(ctx, p, ListOptions{Revision: start + 1}); !errors.Is(err, ErrCompacted) {
		t.Fatalf("list from compacted revision: %v", err)
	}
}

func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Start(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "/kennel/x", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // idempotent
	s, err = Start(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kv, err := s.Get(ctx, "/kennel/x")
	if err != nil || string(kv.Value) != "kept" {
		t.Fatalf("after restart: %+v %v", kv, err)
	}
}
