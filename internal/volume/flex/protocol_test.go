package flex

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// protoOpts and protoJSON are the options of every protocol call and the
// JSON the driver must receive for them.
var (
	protoOpts = map[string]string{OptionPVOrVolumeName: "vol-1", "size": "1Mi", "note": "a&b<c>"}
	protoJSON = `{"kubernetes.io/pvOrVolumeName":"vol-1","note":"a&b<c>","size":"1Mi"}`
)

// protoCall is one call of SPECS.md §4: how to make it, the argv the
// driver must see, and the value a Success answer gives.
type protoCall struct {
	call  string
	modes []string // extra steering of the test driver
	do    func(ctx context.Context, d *Driver) (any, error)
	argv  []string
	want  any
}

func protoCalls() []protoCall {
	return []protoCall{
		{call: "getvolumename", argv: []string{"getvolumename", protoJSON}, want: "vol-1",
			do: func(ctx context.Context, d *Driver) (any, error) { return d.GetVolumeName(ctx, protoOpts) }},
		{call: "attach", argv: []string{"attach", protoJSON, "node-1"}, want: "/dev/flextest",
			do: func(ctx context.Context, d *Driver) (any, error) { return d.Attach(ctx, protoOpts, "node-1") }},
		{call: "waitforattach", argv: []string{"waitforattach", "/dev/flex9", protoJSON}, want: "/dev/flex9",
			do: func(ctx context.Context, d *Driver) (any, error) {
				return d.WaitForAttach(ctx, "/dev/flex9", protoOpts)
			}},
		{call: "isattached", modes: []string{"attached=true"}, argv: []string{"isattached", protoJSON, "node-1"}, want: true,
			do: func(ctx context.Context, d *Driver) (any, error) { return d.IsAttached(ctx, protoOpts, "node-1") }},
		{call: "detach", argv: []string{"detach", "vol-1", "node-1"}, want: nil,
			do: func(ctx context.Context, d *Driver) (any, error) { return nil, d.Detach(ctx, "vol-1", "node-1") }},
		{call: "mountdevice", argv: []string{"mountdevice", "/srv/g", "/dev/flex9", protoJSON}, want: nil,
			do: func(ctx context.Context, d *Driver) (any, error) {
				return nil, d.MountDevice(ctx, "/srv/g", "/dev/flex9", protoOpts)
			}},
		{call: "unmountdevice", argv: []string{"unmountdevice", "/srv/g"}, want: nil,
			do: func(ctx context.Context, d *Driver) (any, error) { return nil, d.UnmountDevice(ctx, "/srv/g") }},
		{call: "mount", argv: []string{"mount", "/srv/p", protoJSON}, want: nil,
			do: func(ctx context.Context, d *Driver) (any, error) { return nil, d.Mount(ctx, "/srv/p", protoOpts) }},
		{call: "unmount", argv: []string{"unmount", "/srv/p"}, want: nil,
			do: func(ctx context.Context, d *Driver) (any, error) { return nil, d.Unmount(ctx, "/srv/p") }},
		{call: "expandvolume", argv: []string{"expandvolume", protoJSON, "/srv/g", "2048", "1024"}, want: nil,
			do: func(ctx context.Context, d *Driver) (any, error) {
				return nil, d.ExpandVolume(ctx, protoOpts, "/srv/g", 2048, 1024)
			}},
		{call: "expandfs", argv: []string{"expandfs", protoJSON, "/dev/flex9", "/srv/g", "2048", "1024"}, want: nil,
			do: func(ctx context.Context, d *Driver) (any, error) {
				return nil, d.ExpandFS(ctx, protoOpts, "/dev/flex9", "/srv/g", 2048, 1024)
			}},
	}
}

// TestProtocol makes every call against the test driver answering each
// status variant, and checks the exact argv, the decoded answer and the
// error of each.
func TestProtocol(t *testing.T) {
	t.Parallel()
	modes := []string{"success", "exit1-success", "noise", "failure", "notsupported", "garbage", "hang"}
	for _, pc := range protoCalls() {
		for _, mode := range modes {
			t.Run(pc.call+"/"+mode, func(t *testing.T) {
				t.Parallel()
				timeout := 20 * time.Second
				if mode == "hang" {
					timeout = time.Second
				}
				td := installTestDriver(t, append(pc.modes, "mode-"+pc.call+"="+mode)...)
				ctx := testContext(t)
				d, err := td.plugins(timeout).Driver(ctx, testDriverName)
				if err != nil {
					t.Fatal(err)
				}
				got, err := pc.do(ctx, d)
				calls := td.calls(t)
				if len(calls) != 2 || calls[0][0] != "init" || !slices.Equal(calls[1], pc.argv) {
					t.Fatalf("driver argv: got %q, want [init] then %q", calls, pc.argv)
				}
				checkProtocolAnswer(t, pc, mode, got, err)
				if mode == "notsupported" {
					// Remembered: answered again without running the driver.
					if _, err := pc.do(ctx, d); !errors.Is(err, ErrNotSupported) {
						t.Fatalf("%s again: got %v, want ErrNotSupported", pc.call, err)
					}
					if n := td.count(t, pc.call); n != 1 {
						t.Fatalf("%s was run %d times, want once", pc.call, n)
					}
				}
			})
		}
	}
}

func checkProtocolAnswer(t *testing.T, pc protoCall, mode string, got any, err error) {
	t.Helper()
	switch mode {
	case "success", "exit1-success", "noise":
		if err != nil {
			t.Fatalf("%s: %v", pc.call, err)
		}
		if pc.want != nil && got != pc.want {
			t.Fatalf("%s answered %v, want %v", pc.call, got, pc.want)
		}
	case "failure":
		var de *DriverError
		if !errors.As(err, &de) || de.Status != StatusFailure || de.Driver != testDriverName ||
			de.Call != pc.call || de.Message != pc.call+" failed on purpose" {
			t.Fatalf("%s: got error %#v, want a *DriverError with the driver's message", pc.call, err)
		}
		want := `flex: driver "kennel/test" ` + pc.call + ": " + pc.call + " failed on purpose"
		if err.Error() != want || errors.Is(err, ErrNotSupported) {
			t.Fatalf("%s: got %q, want %q (not matching ErrNotSupported)", pc.call, err, want)
		}
	case "notsupported":
		want := `flex: driver "kennel/test" ` + pc.call + ": Not supported"
		if !errors.Is(err, ErrNotSupported) || err.Error() != want {
			t.Fatalf("%s: got %v, want %q matching ErrNotSupported", pc.call, err, want)
		}
	case "garbage":
		if err == nil || !strings.Contains(err.Error(), "unparsable output") ||
			!strings.Contains(err.Error(), `this is not json from `+pc.call) {
			t.Fatalf("%s: got %v, want an error quoting the output", pc.call, err)
		}
	case "hang":
		want := `flex: driver "kennel/test" ` + pc.call + ": timed out after 1s"
		if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: got %v, want %q", pc.call, err, want)
		}
	}
}
