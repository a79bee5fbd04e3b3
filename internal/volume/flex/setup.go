package flex

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kennel-dev/kennel/internal/volume/mount"
)

// SetUpRequest asks for a FlexVolume to be mounted for a pod.
type SetUpRequest struct {
	Volume Volume
	Pod    PodInfo
	Secret map[string][]byte // the data of the volume's secretRef, if any
	Node   string            // this node's name, passed to attach
	// PodDir is the pod volume dir to mount on.
	PodDir string
	// GlobalDir is the node-global dir of this volume's device mount,
	// shared by every pod on the node that uses the volume, e.g.
	// <data>/plugins/<vendor>~<driver>/mounts/<volumeName>.
	GlobalDir string
}

// TearDownRequest asks for a pod's FlexVolume to be unmounted; LastUser
// says no other pod on the node uses the volume, so its device is
// unmounted and detached too.
type TearDownRequest struct {
	Volume    Volume
	Node      string
	PodDir    string
	GlobalDir string
	LastUser  bool
}

// fallbackFSType is the filesystem the agent mounts a device with when
// the driver does not mount it and the volume names none.
const fallbackFSType = "ext4"

// SetUp mounts the volume at req.PodDir in the kubelet's order. For a
// driver with the attach capability: getvolumename (else the volume's
// name), isattached, attach, waitforattach and mountdevice at
// req.GlobalDir (else the agent mounts the device there itself, if there
// is one); all of this is skipped when GlobalDir is already a mount point,
// as another pod's volume or an earlier SetUp left it. Then mount at
// PodDir (else the agent bind-mounts GlobalDir there).
//
// Attach is always called, even when isattached says the volume is
// attached: isattached answers no device and the device is needed, and
// attach is idempotent by contract. isattached only decides whether a
// failing SetUp detaches: it does so only when the volume was not attached
// before (or isattached is not supported).
//
// SetUp is idempotent: if PodDir is a mount point it does nothing, so a
// repeated SetUp, or one after an agent crash anywhere between attach and
// mount, ends with exactly one mount at PodDir. On failure it undoes what
// it did: mounts under PodDir and (when it mounted it) GlobalDir are
// unmounted, both directories removed, a volume it attached detached.
// Calls for one volume must not run concurrently (the agent serialises
// them).
func (p *Plugins) SetUp(ctx context.Context, req SetUpRequest) error {
	if err := checkDirs(req.PodDir, req.GlobalDir); err != nil {
		return err
	}
	mounted, err := mount.IsMountPoint(req.PodDir)
	if err != nil {
		return fmt.Errorf("flex: volume %q: %w", req.Volume.Name, err)
	}
	if mounted {
		return nil
	}
	d, err := p.Driver(ctx, req.Volume.Driver)
	if err != nil {
		return err
	}
	s := &setup{p: p, d: d, req: req, opts: Options(req.Volume, nil, nil)}
	if err := s.run(ctx); err != nil {
		if uerr := s.undo(context.WithoutCancel(ctx)); uerr != nil {
			return fmt.Errorf("%w (and undoing it: %v)", err, uerr)
		}
		return err
	}
	return nil
}

// checkDirs insists on absolute directories: a relative one would be
// resolved against the agent's working directory.
func checkDirs(podDir, globalDir string) error {
	if !filepath.IsAbs(podDir) {
		return fmt.Errorf("flex: podDir %q is not an absolute path", podDir)
	}
	if !filepath.IsAbs(globalDir) {
		return fmt.Errorf("flex: globalDir %q is not an absolute path", globalDir)
	}
	return nil
}

// setup is one SetUp and what it has done, for undo.
type setup struct {
	p    *Plugins
	d    *Driver
	req  SetUpRequest
	opts map[string]string // without pod and secret: all calls but mount

	volumeName   string
	detachOnUndo bool // this call attached the volume
	globalStaged bool // this call mounted, or tried to mount, GlobalDir
	podStaged    bool // this call mounted, or tried to mount, PodDir
	driverMount  bool // ... through the driver's mount call
}

func (s *setup) run(ctx context.Context) error {
	if s.d.Attachable() {
		inUse, err := mount.IsMountPoint(s.req.GlobalDir)
		if err != nil {
			return fmt.Errorf("flex: volume %q: %w", s.req.Volume.Name, err)
		}
		if !inUse {
			device, err := s.attach(ctx)
			if err != nil {
				return err
			}
			if err := s.mountDevice(ctx, device); err != nil {
				return err
			}
		}
	}
	return s.mountPod(ctx)
}

// attach attaches the volume and returns its device, "" when the driver
// does not support attach.
func (s *setup) attach(ctx context.Context) (string, error) {
	name, err := s.d.volumeName(ctx, s.opts, s.req.Volume.Name)
	if err != nil {
		return "", err
	}
	s.volumeName = name
	before, err := s.d.IsAttached(ctx, s.opts, s.req.Node)
	if err != nil && !errors.Is(err, ErrNotSupported) {
		// Advisory only: attach below is what counts.
		s.p.log.Warn("flex: isattached failed; attaching anyway", "driver", s.d.name, "err", err)
	}
	device, err := s.d.Attach(ctx, s.opts, s.req.Node)
	if errors.Is(err, ErrNotSupported) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	s.detachOnUndo = !before
	device, err = s.d.WaitForAttach(ctx, device, s.opts)
	if err != nil && !errors.Is(err, ErrNotSupported) {
		return "", err
	}
	return device, nil
}

// mountDevice mounts the device at GlobalDir through the driver, or
// itself when the driver does not support mountdevice.
func (s *setup) mountDevice(ctx context.Context, device string) error {
	dir := s.req.GlobalDir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("flex: volume %q: %w", s.req.Volume.Name, err)
	}
	s.globalStaged = true
	err := s.d.MountDevice(ctx, dir, device, s.opts)
	switch {
	case !errors.Is(err, ErrNotSupported):
		return err
	case device == "":
		return nil // nothing to mount: the mount call will have to cope
	}
	fsType := s.req.Volume.FSType
	if fsType == "" {
		fsType = fallbackFSType
	}
	if err := mount.Mount(device, dir, fsType, s.req.Volume.ReadOnly, ""); err != nil {
		return fmt.Errorf("flex: driver %q does not mount devices, and the agent could not: %w", s.d.name, err)
	}
	return nil
}

// mountPod mounts the volume at PodDir through the driver, or binds
// GlobalDir there when the driver does not support mount.
func (s *setup) mountPod(ctx context.Context) error {
	dir := s.req.PodDir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("flex: volume %q: %w", s.req.Volume.Name, err)
	}
	s.podStaged = true
	err := s.d.Mount(ctx, dir, Options(s.req.Volume, &s.req.Pod, s.req.Secret))
	if !errors.Is(err, ErrNotSupported) {
		s.driverMount = true
		return err
	}
	staged, err := mount.IsMountPoint(s.req.GlobalDir)
	if err != nil {
		return fmt.Errorf("flex: volume %q: %w", s.req.Volume.Name, err)
	}
	if !staged {
		return fmt.Errorf("flex: driver %q does not support mount, and nothing is mounted at %s to bind", s.d.name, s.req.GlobalDir)
	}
	if err := mount.Bind(s.req.GlobalDir, dir, s.req.Volume.ReadOnly); err != nil {
		return fmt.Errorf("flex: driver %q does not support mount, and the agent could not bind: %w", s.d.name, err)
	}
	return nil
}

// undo reverses a failed SetUp: no mount of its own is left behind, its
// directories are removed, a volume it attached is detached.
func (s *setup) undo(ctx context.Context) error {
	var errs []error
	if s.podStaged {
		if s.driverMount {
			s.bestEffort(s.d.Unmount(ctx, s.req.PodDir))
		}
		errs = append(errs, release(s.req.PodDir))
	}
	if s.globalStaged {
		s.bestEffort(s.d.UnmountDevice(ctx, s.req.GlobalDir))
		errs = append(errs, release(s.req.GlobalDir))
	}
	if s.detachOnUndo {
		if err := s.d.Detach(ctx, s.volumeName, s.req.Node); err != nil && !errors.Is(err, ErrNotSupported) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// bestEffort logs the error of a driver call made while cleaning up,
// whose job the agent then does itself.
func (s *setup) bestEffort(err error) {
	if err != nil && !errors.Is(err, ErrNotSupported) {
		s.p.log.Warn("flex: cleanup call failed; unmounting directly", "driver", s.d.name, "err", err)
	}
}

// release unmounts everything at or below dir, then removes dir (only if
// empty: never recursively, which could reach into a mount).
func release(dir string) error {
	mps, err := mount.MountsUnder(dir)
	if err != nil {
		return err
	}
	for _, mp := range mps {
		if err := mount.Unmount(mp); err != nil {
			return err
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("flex: %w", err)
	}
	return nil
}

// TearDown unmounts the volume from req.PodDir (unmount, else the agent
// unmounts) and removes PodDir; for the last user, it unmounts GlobalDir
// (unmountdevice, else the agent) and removes it, then detaches (when
// the driver attaches; not supported means nothing to do). Steps whose
// directory is already gone are skipped, so a repeated or interrupted
// TearDown converges. If the driver has disappeared, the mounts are
// still released and the error says detach could not run.
func (p *Plugins) TearDown(ctx context.Context, req TearDownRequest) error {
	if err := checkDirs(req.PodDir, req.GlobalDir); err != nil {
		return err
	}
	d, err := p.Driver(ctx, req.Volume.Driver)
	if err != nil {
		rerr := release(req.PodDir)
		if req.LastUser {
			rerr = errors.Join(rerr, release(req.GlobalDir))
		}
		if rerr != nil {
			return fmt.Errorf("%w (and releasing the mounts: %v)", err, rerr)
		}
		return fmt.Errorf("%w (mounts released; unmountdevice and detach not run)", err)
	}
	if err := p.unstage(ctx, req.PodDir, d.Unmount); err != nil {
		return err
	}
	if !req.LastUser || !d.Attachable() {
		return nil
	}
	if err := p.unstage(ctx, req.GlobalDir, d.UnmountDevice); err != nil {
		return err
	}
	opts := Options(req.Volume, nil, nil)
	name, err := d.volumeName(ctx, opts, req.Volume.Name)
	if err != nil {
		return err
	}
	if err := d.Detach(ctx, name, req.Node); err != nil && !errors.Is(err, ErrNotSupported) {
		return err
	}
	return nil
}

// unstage runs the driver's unmount call on dir, if dir exists, then
// makes sure nothing stays mounted there and removes it.
func (p *Plugins) unstage(ctx context.Context, dir string, unmount func(context.Context, string) error) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unmount(ctx, dir); err != nil && !errors.Is(err, ErrNotSupported) {
		return err
	}
	return release(dir)
}
