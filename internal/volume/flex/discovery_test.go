package flex

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDriverNotFound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := NewPlugins(Config{Dir: dir})
	_, err := p.Driver(testContext(t), "acme/nfs")
	want := `flex: driver "acme/nfs" not found: no executable at ` + filepath.Join(dir, "acme~nfs", "nfs")
	if err == nil || err.Error() != want || !errors.Is(err, ErrDriverNotFound) {
		t.Fatalf("got %v, want %q matching ErrDriverNotFound", err, want)
	}
	// A file that is not executable is no driver either.
	if err := os.MkdirAll(filepath.Join(dir, "acme~nfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acme~nfs", "nfs"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Driver(testContext(t), "acme/nfs"); !errors.Is(err, ErrDriverNotFound) {
		t.Fatalf("non-executable driver: got %v, want ErrDriverNotFound", err)
	}
	if got := p.List(); len(got) != 0 {
		t.Fatalf("List() = %q, want none", got)
	}
}

func TestDriverName(t *testing.T) {
	t.Parallel()
	p := NewPlugins(Config{Dir: t.TempDir()})
	for _, name := range []string{"", "nfs", "/nfs", "acme/", "acme/nfs/x", "../x", "acme/.."} {
		_, err := p.Driver(testContext(t), name)
		if err == nil || !strings.Contains(err.Error(), `want "<vendor>/<driver>"`) {
			t.Errorf("Driver(%q): got %v, want a driver name error", name, err)
		}
	}
}

// TestDiscoveryWithoutRestart installs a driver after the Plugins exist,
// then replaces it: each version is found, and initialised once.
func TestDiscoveryWithoutRestart(t *testing.T) {
	t.Parallel()
	pluginDir := t.TempDir()
	p := NewPlugins(Config{Dir: pluginDir, Timeout: 20 * time.Second})
	ctx := testContext(t)
	if _, err := p.Driver(ctx, testDriverName); !errors.Is(err, ErrDriverNotFound) {
		t.Fatalf("before install: got %v, want ErrDriverNotFound", err)
	}
	if got := p.List(); len(got) != 0 {
		t.Fatalf("List() before install = %q", got)
	}

	exe := filepath.Join(pluginDir, "kennel~test", "test")
	copyExecutable(t, "testdata/flexdriver", exe)
	td := &testDriver{pluginDir: pluginDir, dir: filepath.Dir(exe), log: filepath.Join(filepath.Dir(exe), "calls.log")}
	td.setModes(t, "mode-mount=notsupported")
	if got := p.List(); !slices.Equal(got, []string{testDriverName}) {
		t.Fatalf("List() after install = %q, want [%s]", got, testDriverName)
	}
	d1, err := p.Driver(ctx, testDriverName)
	if err != nil {
		t.Fatal(err)
	}
	if d1.Path() != exe || d1.Name() != testDriverName {
		t.Fatalf("driver %s at %s, want %s at %s", d1.Name(), d1.Path(), testDriverName, exe)
	}
	if err := d1.Mount(ctx, "/srv/p", nil); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("mount: got %v, want ErrNotSupported", err)
	}
	if d, err := p.Driver(ctx, testDriverName); err != nil || d != d1 {
		t.Fatalf("second lookup: got %p, %v; want the same driver %p", d, err, d1)
	}
	wantCalls(t, td.callNames(t), []string{"init", "mount"})

	// Replace it with a new version (a different size), which now
	// supports mount: init runs again, and mount is asked again.
	replaceDriver(t, exe, "# version 2\n")
	td.setModes(t)
	d2, err := p.Driver(ctx, testDriverName)
	if err != nil {
		t.Fatal(err)
	}
	if d2 == d1 {
		t.Fatal("the replaced driver was not initialised again")
	}
	if err := d2.Mount(ctx, "/srv/p", nil); err != nil {
		t.Fatalf("mount with the new version: %v", err)
	}
	wantCalls(t, td.callNames(t), []string{"init", "mount", "init", "mount"})

	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Driver(ctx, testDriverName); !errors.Is(err, ErrDriverNotFound) {
		t.Fatalf("after removal: got %v, want ErrDriverNotFound", err)
	}
}

// replaceDriver installs a new version of the test driver at exe, with
// suffix appended, by renaming it into place.
func replaceDriver(t *testing.T, exe, suffix string) {
	t.Helper()
	b, err := os.ReadFile("testdata/flexdriver")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe+".new", append(b, suffix...), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(exe+".new", exe); err != nil {
		t.Fatal(err)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, exe := range []string{"b~two/two", "a~one/one", "c~three/other", ".hidden~x/x", "nodriver/nodriver"} {
		copyExecutable(t, "testdata/flexdriver", filepath.Join(dir, exe))
	}
	got := NewPlugins(Config{Dir: dir}).List()
	if want := []string{"a/one", "b/two"}; !slices.Equal(got, want) {
		t.Fatalf("List() = %q, want %q", got, want)
	}
	if got := NewPlugins(Config{Dir: filepath.Join(dir, "missing")}).List(); got != nil {
		t.Fatalf("List() of a missing dir = %q, want nil", got)
	}
}

// TestInitFailure: a driver whose init does not succeed is not used, and
// the error names the driver, its plugin path and what it said.
func TestInitFailure(t *testing.T) {
	t.Parallel()
	cases := []struct{ mode, want string }{
		{"failure", `flex: driver "kennel/test" init: init failed on purpose (plugin `},
		{"garbage", `flex: driver "kennel/test" init: unparsable output "this is not json from init"`},
		{"notsupported", `flex: driver "kennel/test" init: Not supported (plugin `},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			td := installTestDriver(t, "mode-init="+tc.mode)
			p := td.plugins(20 * time.Second)
			ctx := testContext(t)
			_, err := p.Driver(ctx, testDriverName)
			exe := filepath.Join(td.dir, "test")
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !strings.Contains(err.Error(), exe) {
				t.Fatalf("got %v, want %q... naming %s", err, tc.want, exe)
			}
			err = p.SetUp(ctx, SetUpRequest{Volume: Volume{Driver: testDriverName, Name: "v"}, Node: "n",
				PodDir: filepath.Join(t.TempDir(), "pod"), GlobalDir: filepath.Join(t.TempDir(), "global")})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("SetUp: got %v, want the init error", err)
			}
			// Init is not retried for the same executable, and nothing
			// else was called.
			wantCalls(t, td.callNames(t), []string{"init"})
		})
	}
}

// TestInitTimeoutIsRetried: an init that timed out is run again.
func TestInitTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	td := installTestDriver(t, "mode-init=hang")
	p := td.plugins(time.Second)
	ctx := testContext(t)
	if _, err := p.Driver(ctx, testDriverName); err == nil || !strings.Contains(err.Error(), "init: timed out after 1s") {
		t.Fatalf("got %v, want an init timeout", err)
	}
	td.setModes(t) // mtime and size of the executable unchanged
	if _, err := p.Driver(ctx, testDriverName); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, td.callNames(t), []string{"init", "init"})
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	for mode, want := range map[string]bool{"attach": true, "noattach": false, "omit": true} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			td := installTestDriver(t, "capabilities="+mode)
			d, err := td.plugins(20*time.Second).Driver(testContext(t), testDriverName)
			if err != nil {
				t.Fatal(err)
			}
			if d.Attachable() != want {
				t.Fatalf("capabilities %s: Attachable() = %v, want %v", mode, d.Attachable(), want)
			}
		})
	}
}
