package flex

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testDriver is the every-status driver installed in a temp plugin dir.
type testDriver struct {
	pluginDir string
	dir       string // <pluginDir>/kennel~test
	log       string
}

const testDriverName = "kennel/test"

// installTestDriver copies testdata/flexdriver into a new plugin dir as
// kennel/test, with the key=value lines of modes in its modes file.
func installTestDriver(t *testing.T, modes ...string) *testDriver {
	t.Helper()
	td := &testDriver{pluginDir: t.TempDir()}
	td.dir = filepath.Join(td.pluginDir, "kennel~test")
	td.log = filepath.Join(td.dir, "calls.log")
	copyExecutable(t, "testdata/flexdriver", filepath.Join(td.dir, "test"))
	td.setModes(t, modes...)
	return td
}

func (td *testDriver) setModes(t *testing.T, modes ...string) {
	t.Helper()
	body := strings.Join(modes, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(td.dir, "modes"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (td *testDriver) plugins(timeout time.Duration) *Plugins {
	return NewPlugins(Config{Dir: td.pluginDir, Timeout: timeout})
}

// calls is the argv of every call the driver got, in order.
func (td *testDriver) calls(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile(td.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		out = append(out, strings.Split(line, "\t"))
	}
	return out
}

// callNames is the first word of each call.
func (td *testDriver) callNames(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, c := range td.calls(t) {
		out = append(out, c[0])
	}
	return out
}

// count is how many times call was made.
func (td *testDriver) count(t *testing.T, call string) int {
	t.Helper()
	n := 0
	for _, c := range td.callNames(t) {
		if c == call {
			n++
		}
	}
	return n
}

// resetLog forgets the calls made so far.
func (td *testDriver) resetLog(t *testing.T) {
	t.Helper()
	if err := os.Remove(td.log); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	// Write a new file and rename it into place, as an installer should,
	// so that a driver being replaced is never seen half-written.
	tmp := to + ".new"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}

func wantCalls(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("driver calls:\n got %q\nwant %q", got, want)
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Lstat(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}
