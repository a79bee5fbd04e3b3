package controller

import (
	"context"
	"log/slog"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func lease(ns, name string) *v1.Lease {
	return &v1.Lease{ObjectMeta: v1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestKeyFunc(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		obj    any
		want   string
		wantOK bool
	}{
		{"namespaced", lease("ns", "a"), "ns/a", true},
		{"cluster-scoped", lease("", "a"), "a", true},
		{"no name", lease("ns", ""), "", false},
		{"not an object", "ns/a", "", false},
		{"nil", nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := KeyFunc(tc.obj)
			if got != tc.want || ok != tc.wantOK {
				t.Fatalf("KeyFunc() = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestSplitKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, ns, name string
		wantErr       bool
	}{
		{"ns/a", "ns", "a", false},
		{"a", "", "a", false},
		{"", "", "", true},
		{"/a", "", "", true},
		{"ns/", "", "", true},
		{"a/b/c", "", "", true},
	}
	for _, tc := range tests {
		ns, name, err := SplitKey(tc.key)
		if ns != tc.ns || name != tc.name || (err != nil) != tc.wantErr {
			t.Errorf("SplitKey(%q) = %q, %q, %v", tc.key, ns, name, err)
		}
	}
}

func TestHandlerEnqueuesKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		keyFunc func(any) (string, bool)
		event   func(h EventHandler)
		want    []string
	}{
		{"add", nil, func(h EventHandler) { h.OnAdd(lease("ns", "a")) }, []string{"ns/a"}},
		{"update enqueues the new object", nil, func(h EventHandler) { h.OnUpdate(lease("ns", "old"), lease("ns", "new")) }, []string{"ns/new"}},
		{"delete", nil, func(h EventHandler) { h.OnDelete(lease("", "a")) }, []string{"a"}},
		{"events collapse", nil, func(h EventHandler) {
			h.OnAdd(lease("ns", "a"))
			h.OnUpdate(lease("ns", "a"), lease("ns", "a"))
			h.OnAdd(lease("ns", "b"))
		}, []string{"ns/a", "ns/b"}},
		{"no key is dropped", nil, func(h EventHandler) { h.OnAdd(struct{}{}) }, nil},
		{"custom key func", func(obj any) (string, bool) { return "custom", true },
			func(h EventHandler) { h.OnDelete(nil) }, []string{"custom"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := New("handler", func(context.Context, string) error { return nil }, Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.queue.ShutDown()
			tc.event(c.Handler(tc.keyFunc))
			if got := c.queue.Len(); got != len(tc.want) {
				t.Fatalf("queued %d keys, want %v", got, tc.want)
			}
			for _, want := range tc.want {
				if key, _ := c.queue.Get(); key != want {
					t.Fatalf("queued %q, want %q", key, want)
				}
			}
		})
	}
}
