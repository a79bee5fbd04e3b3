package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/volume"
	"github.com/kennel-dev/kennel/internal/volume/flex"
	"github.com/kennel-dev/kennel/internal/volume/local"
	"github.com/kennel-dev/kennel/internal/volume/mount"
	"golang.org/x/sys/unix"
)

// podVolume is one set-up volume of a pod that is not projected from
// ConfigMaps or Secrets: where containers bind it from, and the QoS
// limits its block device gets in the pod's cgroup.
type podVolume struct {
	source   string
	readOnly bool
	device   string // "major:minor" of the volume's disk, "" if none
	qos      volume.QoS
	// record is set for volumes that share a node-wide mount: their
	// teardown goes through the on-disk record (volstate.go).
	record *volumeRecord
	// teardown, if set, undoes a set-up that is not recorded.
	teardown func(ctx context.Context) error
}

// setUpVolume makes one emptyDir, hostPath, persistentVolumeClaim or
// flexVolume volume ready. It is idempotent: after an agent restart it
// finds the mounts it made and makes none twice.
func (w *podWorker) setUpVolume(ctx context.Context, pod *v1.Pod, v *v1.Volume) (*podVolume, error) {
	dir := w.a.volumeDir(w.uid, v.Name)
	switch {
	case v.EmptyDir != nil:
		return w.a.setUpEmptyDir(v.EmptyDir, dir)
	case v.HostPath != nil:
		return setUpHostPath(v.Name, v.HostPath)
	case v.FlexVolume != nil:
		f := v.FlexVolume
		fv := flex.Volume{Driver: f.Driver, FSType: f.FSType, ReadOnly: f.ReadOnly, Options: f.Options, Name: v.Name}
		var secretName string
		if f.SecretRef != nil {
			secretName = f.SecretRef.Name
		}
		return w.a.setUpFlex(ctx, pod, fv, pod.Namespace, secretName, dir, w.uid+"-"+v.Name, volume.QoS{})
	case v.PersistentVolumeClaim != nil:
		return w.setUpClaim(ctx, pod, v, dir)
	}
	return nil, &missingError{fmt.Sprintf("volume %q: this agent does not support its volume type", v.Name)}
}

func (a *Agent) setUpEmptyDir(e *v1.EmptyDirVolumeSource, dir string) (*podVolume, error) {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("agent: emptyDir: %w", err)
	}
	pv := &podVolume{source: dir, teardown: func(context.Context) error { return mount.Unmount(dir) }}
	if e.Medium != v1.StorageMediumMemory {
		if err := os.Chmod(dir, 0o777); err != nil {
			return nil, fmt.Errorf("agent: emptyDir: %w", err)
		}
		return pv, nil
	}
	if os.Geteuid() != 0 {
		return nil, &missingError{"emptyDir medium Memory needs the agent to run as root (tmpfs)"}
	}
	if ok, err := mount.IsMountPoint(dir); err != nil || ok {
		return pv, err
	}
	opts := "mode=0777"
	if e.SizeLimit != nil {
		opts += fmt.Sprintf(",size=%d", e.SizeLimit.Value())
	}
	return pv, mount.Mount("tmpfs", dir, "tmpfs", false, opts)
}

// setUpHostPath checks the path against its type, making it for the
// *OrCreate types.
func setUpHostPath(name string, h *v1.HostPathVolumeSource) (*podVolume, error) {
	t := v1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	fail := func(why string) (*podVolume, error) {
		return nil, &missingError{fmt.Sprintf("volume %q: hostPath %s %s", name, h.Path, why)}
	}
	switch t {
	case v1.HostPathDirectoryOrCreate:
		if err := os.MkdirAll(h.Path, 0o755); err != nil {
			return fail(err.Error())
		}
	case v1.HostPathFileOrCreate:
		if err := os.MkdirAll(filepath.Dir(h.Path), 0o755); err != nil {
			return fail(err.Error())
		}
		f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return fail(err.Error())
		}
		f.Close()
	}
	st, err := os.Stat(h.Path)
	if t != v1.HostPathUnset && err != nil {
		return fail("does not exist")
	}
	want := map[v1.HostPathType]func(os.FileMode) bool{
		v1.HostPathDirectory: os.FileMode.IsDir, v1.HostPathDirectoryOrCreate: os.FileMode.IsDir,
		v1.HostPathFile: os.FileMode.IsRegular, v1.HostPathFileOrCreate: os.FileMode.IsRegular,
		v1.HostPathSocket:   func(m os.FileMode) bool { return m&os.ModeSocket != 0 },
		v1.HostPathCharDev:  func(m os.FileMode) bool { return m&os.ModeCharDevice != 0 },
		v1.HostPathBlockDev: func(m os.FileMode) bool { return m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0 },
	}
	if check, ok := want[t]; ok && !check(st.Mode()) {
		return fail("is not a " + strings.ToLower(string(t)))
	}
	return &podVolume{source: h.Path}, nil
}

// setUpClaim mounts the volume bound to a claim. While the claim is not
// bound the pod waits (its volumes are provisioned by then).
func (w *podWorker) setUpClaim(ctx context.Context, pod *v1.Pod, v *v1.Volume, dir string) (*podVolume, error) {
	name := v.PersistentVolumeClaim.ClaimName
	c, err := client.For[*v1.PersistentVolumeClaim](w.a.cfg.Client, pod.Namespace).Get(ctx, name)
	if v1.IsNotFound(err) {
		return nil, &missingError{fmt.Sprintf("persistentvolumeclaim %q not found", name)}
	}
	if err != nil {
		return nil, fmt.Errorf("agent: volume %q: persistentvolumeclaim %q: %w", v.Name, name, err)
	}
	if c.Spec.VolumeName == "" || c.Status.Phase != v1.ClaimBound {
		return nil, &missingError{fmt.Sprintf("persistentvolumeclaim %q is not bound yet", name)}
	}
	pv, err := client.For[*v1.PersistentVolume](w.a.cfg.Client, "").Get(ctx, c.Spec.VolumeName)
	if v1.IsNotFound(err) {
		return nil, &missingError{fmt.Sprintf("persistentvolumeclaim %q: persistentvolume %q not found", name, c.Spec.VolumeName)}
	}
	if err != nil {
		return nil, fmt.Errorf("agent: volume %q: persistentvolume %q: %w", v.Name, c.Spec.VolumeName, err)
	}
	q, err := volume.VolumeQoS(pv)
	if err != nil {
		return nil, &missingError{err.Error()}
	}
	ro := v.PersistentVolumeClaim.ReadOnly
	var out *podVolume
	switch s := &pv.Spec.PersistentVolumeSource; {
	case s.Local != nil && s.Local.FSType != nil && *s.Local.FSType != "":
		out, err = w.a.setUpLocalImage(ctx, pv, *s.Local.FSType, w.uid, v.Name)
	case s.Local != nil:
		out, err = setUpLocalDir(pv.Name, s.Local.Path)
	case s.HostPath != nil:
		out, err = setUpHostPath(v.Name, s.HostPath)
	case s.FlexVolume != nil:
		f := s.FlexVolume
		fv := flex.Volume{Driver: f.Driver, FSType: f.FSType, ReadOnly: f.ReadOnly || ro, Options: f.Options, Name: pv.Name}
		ns, secret := pod.Namespace, ""
		if f.SecretRef != nil {
			secret = f.SecretRef.Name
			if f.SecretRef.Namespace != "" {
				ns = f.SecretRef.Namespace
			}
		}
		out, err = w.a.setUpFlex(ctx, pod, fv, ns, secret, dir, pv.Name, q)
	default:
		return nil, &missingError{fmt.Sprintf("persistentvolume %q: no source this agent can mount", pv.Name)}
	}
	if err != nil {
		return nil, err
	}
	// The volume is not ready for the pod's containers before what it
	// is to be restored from is all in it (restore.go).
	if err := w.restoreClaim(ctx, pod, c, pv.Name, out.source); err != nil {
		return nil, err
	}
	out.readOnly = out.readOnly || ro
	out.qos = q
	return out, nil
}

func setUpLocalDir(pvName, path string) (*podVolume, error) {
	if st, err := os.Stat(path); err != nil || !st.IsDir() {
		return nil, &missingError{fmt.Sprintf("persistentvolume %q: local path %s is not a directory on this node", pvName, path)}
	}
	dev, _, err := mount.BlockDevice(path)
	if err != nil {
		return nil, fmt.Errorf("agent: persistentvolume %q: %w", pvName, err)
	}
	return &podVolume{source: path, device: dev}, nil
}

// localMountDir is where a loop-backed local volume is mounted on the
// node, once for all the pods that use it.
func (a *Agent) localMountDir(pvName string) string {
	return filepath.Join(a.cfg.DataDir, "volumes", "local", pvName)
}

// setUpLocalImage mounts a loop-backed local volume at its node-wide
// directory (once) and records this pod as a user of it; the last user
// to leave unmounts it.
func (a *Agent) setUpLocalImage(ctx context.Context, pv *v1.PersistentVolume, fsType, uid, name string) (*podVolume, error) {
	rec := &volumeRecord{Kind: "local-image", Key: pv.Name, Image: pv.Spec.Local.Path, Dir: a.localMountDir(pv.Name)}
	l := a.vols.lock(rec.Key)
	defer l.Unlock()
	if err := a.writeRecord(uid, name, rec); err != nil {
		return nil, err
	}
	dev, err := local.MountImage(ctx, rec.Image, fsType, rec.Dir, false)
	if err != nil {
		_ = a.writeRecord(uid, name, nil) // MountImage left nothing behind
		return nil, &missingError{fmt.Sprintf("persistentvolume %q: %v", pv.Name, err)}
	}
	a.vols.add(rec.Key, uid)
	return &podVolume{source: rec.Dir, device: dev, record: rec}, nil
}

// setUpFlex runs a FlexVolume driver's attach and mount calls for the
// pod volume at dir; shared names the node-wide device mount.
func (a *Agent) setUpFlex(ctx context.Context, pod *v1.Pod, fv flex.Volume, secretNS, secretName, dir, shared string, q volume.QoS) (*podVolume, error) {
	var secret map[string][]byte
	if secretName != "" {
		s, err := a.config.get(ctx, "secret", secretNS, secretName)
		if err != nil {
			return nil, fmt.Errorf("agent: flexVolume %s: secret %q: %w", fv.Driver, secretName, err)
		}
		if s == nil {
			return nil, &missingError{fmt.Sprintf("flexVolume %s: secret %q not found", fv.Driver, secretName)}
		}
		secret = s.(*v1.Secret).Data
	}
	vendorDriver := strings.ReplaceAll(fv.Driver, "/", "~")
	rec := &volumeRecord{Kind: "flex", Key: "flex/" + shared, Flex: &fv,
		Dir: filepath.Join(a.cfg.DataDir, "plugins", vendorDriver, "mounts", shared)}
	info := flex.PodInfo{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID), ServiceAccount: pod.Spec.ServiceAccountName}
	uid, name := string(pod.UID), filepath.Base(dir)
	l := a.vols.lock(rec.Key)
	defer l.Unlock()
	// Recorded first: an agent that dies during the set-up still knows,
	// when it starts again, that there may be something to tear down.
	if err := a.writeRecord(uid, name, rec); err != nil {
		return nil, err
	}
	err := a.flex.SetUp(ctx, flex.SetUpRequest{Volume: fv, Pod: info, Secret: secret, Node: a.cfg.NodeName, PodDir: dir, GlobalDir: rec.Dir})
	if err != nil {
		_ = a.writeRecord(uid, name, nil) // SetUp undid what it did
		return nil, &missingError{fmt.Sprintf("flexVolume %s: %v", fv.Driver, err)}
	}
	a.vols.add(rec.Key, uid)
	out := &podVolume{source: dir, readOnly: fv.ReadOnly, qos: q, record: rec}
	if dev, ok, _ := mount.BlockDevice(dir); ok {
		out.device = dev
	}
	return out, nil
}

// ioLimits sums the QoS of the pod's volumes per block device: several
// limited volumes on one device share one cgroup limit, their sum.
func ioLimits(vols map[string]*podVolume) []cgroups.IOLimit {
	by := map[string]*cgroups.IOLimit{}
	for _, v := range vols {
		if v.device == "" || v.qos.IsZero() {
			continue
		}
		l := by[v.device]
		if l == nil {
			l = &cgroups.IOLimit{Device: v.device}
			by[v.device] = l
		}
		l.ReadIOPS += uint64(v.qos.ReadIOPS)
		l.WriteIOPS += uint64(v.qos.WriteIOPS)
		l.ReadBPS += uint64(v.qos.ReadBPS)
		l.WriteBPS += uint64(v.qos.WriteBPS)
	}
	out := make([]cgroups.IOLimit, 0, len(by))
	for _, l := range by {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Device < out[j].Device })
	return out
}

// tearDownVolumes undoes every volume set-up of the pod: the recorded
// ones through their records (also those an earlier agent set up, after a
// restart), the others directly; then every mount left under the pod's
// volume directory.
func (w *podWorker) tearDownVolumes(ctx context.Context) error {
	var errs []error
	for name, v := range w.vols {
		if v.teardown != nil {
			if err := v.teardown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("agent: volume %q: %w", name, err))
				continue
			}
		}
		delete(w.vols, name)
	}
	recs, err := w.a.readRecords(w.uid)
	if err != nil {
		return err
	}
	for name, r := range recs {
		if err := w.a.tearDownRecorded(ctx, w.uid, name, r); err != nil {
			errs = append(errs, fmt.Errorf("agent: volume %q: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return unmountAll(filepath.Dir(w.a.volumeDir(w.uid, "x")))
}

// unmountAll unmounts everything at or below dir, deepest first.
func unmountAll(dir string) error {
	mps, err := mount.MountsUnder(dir)
	if err != nil {
		return err
	}
	for _, mp := range mps {
		if err := mount.Unmount(mp); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
	}
	return nil
}
