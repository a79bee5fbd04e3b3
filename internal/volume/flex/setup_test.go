package flex

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// These SetUp and TearDown tests need no root: the test driver answers
// Success to mount and mountdevice without mounting anything.

func newRequest(t *testing.T, opts map[string]string) SetUpRequest {
	t.Helper()
	tmp := t.TempDir()
	return SetUpRequest{
		Volume: Volume{Driver: testDriverName, FSType: "ext4", Name: "pv-1", Options: opts},
		Node:   "node-1", PodDir: filepath.Join(tmp, "pods", "uid-1", "volumes", "data"),
		GlobalDir: filepath.Join(tmp, "plugins", "kennel~test", "mounts", "pv-1"),
	}
}

func tearDownOf(req SetUpRequest, last bool) TearDownRequest {
	return TearDownRequest{Volume: req.Volume, Node: req.Node, PodDir: req.PodDir, GlobalDir: req.GlobalDir, LastUser: last}
}

// TestSetUpCallOrder checks the kubelet's order and the exact argv.
func TestSetUpCallOrder(t *testing.T) {
	t.Parallel()
	td := installTestDriver(t, "device=/dev/flex7", "volname=vendor-vol-1")
	req := newRequest(t, nil)
	if err := td.plugins(20*time.Second).SetUp(testContext(t), req); err != nil {
		t.Fatal(err)
	}
	j := `{"kubernetes.io/fsType":"ext4","kubernetes.io/pvOrVolumeName":"pv-1","kubernetes.io/readwrite":"rw"}`
	want := [][]string{
		{"init"},
		{"getvolumename", j},
		{"isattached", j, "node-1"},
		{"attach", j, "node-1"},
		{"waitforattach", "/dev/flex7", j},
		{"mountdevice", req.GlobalDir, "/dev/flex7", j},
		{"mount", req.PodDir},
	}
	got := td.calls(t)
	if len(got) != len(want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
	for i := range want {
		if n := len(want[i]); !slices.Equal(got[i][:min(n, len(got[i]))], want[i]) {
			t.Fatalf("call %d: got %q, want %q", i, got[i], want[i])
		}
	}
	if !exists(t, req.PodDir) || !exists(t, req.GlobalDir) {
		t.Fatal("SetUp did not create the pod and global dirs")
	}
}

func TestSetUpWithoutAttach(t *testing.T) {
	t.Parallel()
	td := installTestDriver(t, "capabilities=noattach")
	req := newRequest(t, nil)
	p := td.plugins(20 * time.Second)
	if err := p.SetUp(testContext(t), req); err != nil {
		t.Fatal(err)
	}
	if err := p.TearDown(testContext(t), tearDownOf(req, true)); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, td.callNames(t), []string{"init", "mount", "unmount"})
	if exists(t, req.PodDir) {
		t.Fatal("TearDown left the pod dir")
	}
}

// TestSetUpFailureUndoes: whatever step fails, the steps done before it
// are undone, in reverse, and the directories removed.
func TestSetUpFailureUndoes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, failing string
		modes         []string
		want          []string // calls after init
	}{
		{name: "getvolumename", failing: "getvolumename", want: []string{"getvolumename"}},
		{name: "attach", failing: "attach", want: []string{"getvolumename", "isattached", "attach"}},
		{name: "waitforattach", failing: "waitforattach",
			want: []string{"getvolumename", "isattached", "attach", "waitforattach", "detach"}},
		{name: "mountdevice", failing: "mountdevice",
			want: []string{"getvolumename", "isattached", "attach", "waitforattach", "mountdevice", "unmountdevice", "detach"}},
		{name: "mount", failing: "mount",
			want: []string{"getvolumename", "isattached", "attach", "waitforattach", "mountdevice", "mount",
				"unmount", "unmountdevice", "detach"}},
		{name: "mount, attached before", failing: "mount", modes: []string{"attached=true"},
			want: []string{"getvolumename", "isattached", "attach", "waitforattach", "mountdevice", "mount",
				"unmount", "unmountdevice"}},
		{name: "mount, isattached unknown", failing: "mount", modes: []string{"mode-isattached=notsupported"},
			want: []string{"getvolumename", "isattached", "attach", "waitforattach", "mountdevice", "mount",
				"unmount", "unmountdevice", "detach"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			td := installTestDriver(t, append(tc.modes, "mode-"+tc.failing+"=failure")...)
			req := newRequest(t, nil)
			err := td.plugins(20*time.Second).SetUp(testContext(t), req)
			var de *DriverError
			if !errors.As(err, &de) || de.Call != tc.failing {
				t.Fatalf("got %v, want the %s failure", err, tc.failing)
			}
			wantCalls(t, td.callNames(t), append([]string{"init"}, tc.want...))
			if exists(t, req.PodDir) || exists(t, req.GlobalDir) {
				t.Fatalf("failed SetUp left pod dir (%v) or global dir (%v)", exists(t, req.PodDir), exists(t, req.GlobalDir))
			}
		})
	}
}

// TestSetUpNothingToBind: a driver that mounts nothing anywhere leaves
// the agent nothing to bind, which is an error, not an empty volume.
func TestSetUpNothingToBind(t *testing.T) {
	t.Parallel()
	td := installTestDriver(t, "capabilities=noattach", "mode-mount=notsupported")
	req := newRequest(t, nil)
	err := td.plugins(20*time.Second).SetUp(testContext(t), req)
	want := `flex: driver "kennel/test" does not support mount, and nothing is mounted at ` + req.GlobalDir + " to bind"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if exists(t, req.PodDir) {
		t.Fatal("failed SetUp left the pod dir")
	}
}

// TestTearDownConverges: TearDown in order, then again with nothing left
// to do but an idempotent detach.
func TestTearDownConverges(t *testing.T) {
	t.Parallel()
	td := installTestDriver(t, "volname=vendor-vol-1")
	req := newRequest(t, nil)
	p := td.plugins(20 * time.Second)
	ctx := testContext(t)
	if err := p.SetUp(ctx, req); err != nil {
		t.Fatal(err)
	}
	td.resetLog(t)
	if err := p.TearDown(ctx, tearDownOf(req, false)); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, td.callNames(t), []string{"unmount"})
	if exists(t, req.PodDir) || !exists(t, req.GlobalDir) {
		t.Fatal("TearDown of a pod that is not the last user must remove its dir and keep the global one")
	}
	for _, want := range [][]string{{"unmountdevice", "getvolumename", "detach"}, {"getvolumename", "detach"}} {
		td.resetLog(t)
		if err := p.TearDown(ctx, tearDownOf(req, true)); err != nil {
			t.Fatal(err)
		}
		if exists(t, req.GlobalDir) {
			t.Fatal("TearDown of the last user left the global dir")
		}
		wantCalls(t, td.callNames(t), want)
	}
	if got := td.calls(t)[1]; !slices.Equal(got, []string{"detach", "vendor-vol-1", "node-1"}) {
		t.Fatalf("detach argv %q", got)
	}
}

func TestTearDownFailure(t *testing.T) {
	t.Parallel()
	td := installTestDriver(t)
	req := newRequest(t, nil)
	p := td.plugins(20 * time.Second)
	if err := p.SetUp(testContext(t), req); err != nil {
		t.Fatal(err)
	}
	td.setModes(t, "mode-detach=failure")
	err := p.TearDown(testContext(t), tearDownOf(req, true))
	if err == nil || err.Error() != `flex: driver "kennel/test" detach: detach failed on purpose` {
		t.Fatalf("got %v, want the driver's detach failure", err)
	}
	td.setModes(t)
	td.resetLog(t)
	if err := p.TearDown(testContext(t), tearDownOf(req, true)); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, td.callNames(t), []string{"getvolumename", "detach"})
}

func TestTearDownDriverGone(t *testing.T) {
	t.Parallel()
	td := installTestDriver(t)
	req := newRequest(t, nil)
	if err := td.plugins(20*time.Second).SetUp(testContext(t), req); err != nil {
		t.Fatal(err)
	}
	p := NewPlugins(Config{Dir: t.TempDir()})
	err := p.TearDown(testContext(t), tearDownOf(req, true))
	if !errors.Is(err, ErrDriverNotFound) || !strings.Contains(err.Error(), "mounts released; unmountdevice and detach not run") {
		t.Fatalf("got %v, want ErrDriverNotFound saying what was done", err)
	}
	if exists(t, req.PodDir) || exists(t, req.GlobalDir) {
		t.Fatal("TearDown without a driver left the directories")
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	p := NewPlugins(Config{Dir: t.TempDir()})
	err := p.SetUp(testContext(t), SetUpRequest{Volume: Volume{Driver: "a/b"}, PodDir: "pods/x", GlobalDir: "/g"})
	if err == nil || err.Error() != `flex: podDir "pods/x" is not an absolute path` {
		t.Fatalf("got %v", err)
	}
	err = p.TearDown(testContext(t), TearDownRequest{Volume: Volume{Driver: "a/b"}, PodDir: "/p"})
	if err == nil || err.Error() != `flex: globalDir "" is not an absolute path` {
		t.Fatalf("got %v", err)
	}
	err = p.SetUp(testContext(t), SetUpRequest{Volume: Volume{Driver: "a/b"}, PodDir: "/nonexistent/p", GlobalDir: "/g"})
	if !errors.Is(err, ErrDriverNotFound) {
		t.Fatalf("got %v, want ErrDriverNotFound", err)
	}
}
