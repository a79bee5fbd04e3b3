package flex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// The statuses a driver answers with.
const (
	StatusSuccess      = "Success"
	StatusFailure      = "Failure"
	StatusNotSupported = "Not supported"
)

// ErrNotSupported is matched (errors.Is) by the error of a call the driver
// answered "Not supported", now or earlier.
var ErrNotSupported = errors.New("flex: call not supported by driver")

// DriverError is a driver's answer other than Success.
type DriverError struct {
	Driver  string // "vendor/driver"
	Call    string // "attach", "mount", ...
	Status  string // "Failure", "Not supported" or whatever else it said
	Message string // the driver's message, if any
}

func (e *DriverError) Error() string {
	msg := e.Message
	switch {
	case e.Status == StatusNotSupported && msg != "":
		msg = StatusNotSupported + ": " + msg
	case e.Status == StatusNotSupported:
		msg = StatusNotSupported
	case msg == "" && e.Status == StatusFailure:
		msg = "Failure without a message"
	case msg == "":
		msg = fmt.Sprintf("unknown status %q", e.Status)
	}
	return fmt.Sprintf("flex: driver %q %s: %s", e.Driver, e.Call, msg)
}

// Is makes a "Not supported" answer match ErrNotSupported.
func (e *DriverError) Is(target error) bool {
	return target == ErrNotSupported && e.Status == StatusNotSupported
}

// result is the JSON object a driver answers with.
type result struct {
	Status       string        `json:"status"`
	Message      string        `json:"message,omitempty"`
	Device       string        `json:"device,omitempty"`
	VolumeName   string        `json:"volumeName,omitempty"`
	Attached     bool          `json:"attached,omitempty"`
	Capabilities *capabilities `json:"capabilities,omitempty"`
}

type capabilities struct {
	Attach *bool `json:"attach,omitempty"`
}

// Driver is one initialised version of a driver executable. Each method
// is one call of SPECS.md §4, bounded by the timeout; a call answered
// "Not supported" is not made again by this Driver, which returns the
// same kind of error at once.
type Driver struct {
	name, path string
	attach     bool
	timeout    time.Duration
	run        Runner
	log        *slog.Logger

	mu          sync.Mutex
	unsupported map[string]bool // calls answered "Not supported"
}

// Name is the driver's "vendor/driver".
func (d *Driver) Name() string { return d.name }

// Path is the driver's executable.
func (d *Driver) Path() string { return d.path }

// Attachable reports the init capability "attach" (true when the driver
// did not say): whether attach, waitforattach and mountdevice are part of
// setting a volume up.
func (d *Driver) Attachable() bool { return d.attach }

// GetVolumeName asks for the unique name of the volume described by opts.
func (d *Driver) GetVolumeName(ctx context.Context, opts map[string]string) (string, error) {
	res, err := d.call(ctx, "getvolumename", encode(opts))
	if err != nil {
		return "", err
	}
	if res.VolumeName == "" {
		return "", fmt.Errorf("flex: driver %q getvolumename: answered Success without a volumeName", d.name)
	}
	return res.VolumeName, nil
}

// Attach attaches the volume to node and returns its device (which a
// driver may leave empty).
func (d *Driver) Attach(ctx context.Context, opts map[string]string, node string) (string, error) {
	res, err := d.call(ctx, "attach", encode(opts), node)
	if err != nil {
		return "", err
	}
	return res.Device, nil
}

// Detach detaches the volume named volumeName (GetVolumeName's answer)
// from node.
func (d *Driver) Detach(ctx context.Context, volumeName, node string) error {
	_, err := d.call(ctx, "detach", volumeName, node)
	return err
}

// WaitForAttach waits until device is ready and returns it (the device
// given when the driver answers none).
func (d *Driver) WaitForAttach(ctx context.Context, device string, opts map[string]string) (string, error) {
	res, err := d.call(ctx, "waitforattach", device, encode(opts))
	if err != nil {
		return "", err
	}
	if res.Device == "" {
		return device, nil
	}
	return res.Device, nil
}

// IsAttached reports whether the volume is attached to node.
func (d *Driver) IsAttached(ctx context.Context, opts map[string]string, node string) (bool, error) {
	res, err := d.call(ctx, "isattached", encode(opts), node)
	if err != nil {
		return false, err
	}
	return res.Attached, nil
}

// MountDevice mounts device at the node-global dir.
func (d *Driver) MountDevice(ctx context.Context, dir, device string, opts map[string]string) error {
	_, err := d.call(ctx, "mountdevice", dir, device, encode(opts))
	return err
}

// UnmountDevice unmounts the node-global dir.
func (d *Driver) UnmountDevice(ctx context.Context, dir string) error {
	_, err := d.call(ctx, "unmountdevice", dir)
	return err
}

// Mount mounts the volume at the pod volume dir.
func (d *Driver) Mount(ctx context.Context, dir string, opts map[string]string) error {
	_, err := d.call(ctx, "mount", dir, encode(opts))
	return err
}

// Unmount unmounts the pod volume dir.
func (d *Driver) Unmount(ctx context.Context, dir string) error {
	_, err := d.call(ctx, "unmount", dir)
	return err
}

// ExpandVolume grows the volume mounted at deviceMountPath from oldSize to
// newSize bytes.
func (d *Driver) ExpandVolume(ctx context.Context, opts map[string]string, deviceMountPath string, newSize, oldSize int64) error {
	_, err := d.call(ctx, "expandvolume", encode(opts), deviceMountPath,
		strconv.FormatInt(newSize, 10), strconv.FormatInt(oldSize, 10))
	return err
}

// ExpandFS grows the filesystem on devicePath, mounted at deviceMountPath,
// from oldSize to newSize bytes.
func (d *Driver) ExpandFS(ctx context.Context, opts map[string]string, devicePath, deviceMountPath string, newSize, oldSize int64) error {
	_, err := d.call(ctx, "expandfs", encode(opts), devicePath, deviceMountPath,
		strconv.FormatInt(newSize, 10), strconv.FormatInt(oldSize, 10))
	return err
}

// volumeName is GetVolumeName, or fallback when the driver does not
// support it.
func (d *Driver) volumeName(ctx context.Context, opts map[string]string, fallback string) (string, error) {
	name, err := d.GetVolumeName(ctx, opts)
	if errors.Is(err, ErrNotSupported) {
		return fallback, nil
	}
	return name, err
}

// call runs the driver once and decodes its answer; only Success returns
// no error.
func (d *Driver) call(ctx context.Context, call string, args ...string) (*result, error) {
	if d.remembered(call) {
		return nil, &DriverError{Driver: d.name, Call: call, Status: StatusNotSupported,
			Message: "answered earlier, not asked again"}
	}
	cctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	start := time.Now()
	out, runErr := d.run(cctx, d.path, append([]string{call}, args...)...)
	if err := cctx.Err(); err != nil {
		if ctx.Err() == nil {
			return nil, fmt.Errorf("flex: driver %q %s: timed out after %s: %w", d.name, call, d.timeout, err)
		}
		return nil, fmt.Errorf("flex: driver %q %s: %w", d.name, call, ctx.Err())
	}
	if runErr != nil && len(bytes.TrimSpace(out)) == 0 {
		return nil, fmt.Errorf("flex: driver %q %s: running %s: %w", d.name, call, d.path, runErr)
	}
	res, err := decode(out)
	if err != nil {
		return nil, fmt.Errorf("flex: driver %q %s: unparsable output %q: %w", d.name, call, truncate(out), err)
	}
	d.log.Debug("flex: call", "call", call, "status", res.Status, "message", res.Message,
		"took", time.Since(start))
	switch res.Status {
	case StatusSuccess:
		return res, nil
	case StatusNotSupported:
		d.remember(call)
	}
	return nil, &DriverError{Driver: d.name, Call: call, Status: res.Status, Message: res.Message}
}

func (d *Driver) remembered(call string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.unsupported[call]
}

func (d *Driver) remember(call string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unsupported[call] = true
}

// decode reads the driver's answer: the whole output as one JSON object,
// or else the last line of it that is one (drivers' tools sometimes chat
// on stderr, which is read together with stdout).
func decode(out []byte) (*result, error) {
	var res result
	err := json.Unmarshal(bytes.TrimSpace(out), &res)
	if err != nil {
		lines := bytes.Split(out, []byte("\n"))
		for i := len(lines) - 1; i >= 0; i-- {
			line := bytes.TrimSpace(lines[i])
			if len(line) > 0 && line[0] == '{' && json.Unmarshal(line, &res) == nil {
				err = nil
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if res.Status == "" {
		return nil, errors.New("no status")
	}
	return &res, nil
}

// truncate keeps error messages readable when a driver prints pages.
func truncate(out []byte) string {
	const max = 256
	s := string(bytes.TrimSpace(out))
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// encode is the JSON argument of the options; HTML characters are left
// as they are for drivers that read the JSON with sed.
func encode(opts map[string]string) string {
	if opts == nil {
		opts = map[string]string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(opts) // a map of strings always encodes
	return string(bytes.TrimRight(b.Bytes(), "\n"))
}
