package agent

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/runtime"
)

// volumeDir is where the agent keeps a pod's ConfigMap and Secret volumes.
func (a *Agent) volumeDir(uid, name string) string {
	return filepath.Join(a.cfg.DataDir, "volumes", uid, name)
}

// volumeFile is one file of a projected volume.
type volumeFile struct {
	data []byte
	mode os.FileMode
}

// syncVolumes writes the pod's ConfigMap and Secret volumes from pc,
// rewriting a volume only when its content changed, and sets up its other
// volumes once each. A volume that cannot be set up yet is an error
// naming it; the pod waits.
func (w *podWorker) syncVolumes(ctx context.Context, pod *v1.Pod, pc *podConfig) error {
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		var files map[string]volumeFile
		var err error
		switch {
		case v.ConfigMap != nil:
			files, err = configMapFiles(v.ConfigMap, pc.configMaps[v.ConfigMap.Name])
		case v.Secret != nil:
			files, err = secretFiles(v.Secret, pc.secrets[v.Secret.SecretName])
		default:
			if w.vols[v.Name] != nil {
				continue
			}
			pv, err := w.setUpVolume(ctx, pod, v)
			if err != nil {
				return err
			}
			if !pv.qos.IsZero() && pv.device == "" {
				w.a.event(ctx, pod, v1.EventTypeWarning, "VolumeQoSNotEnforced", fmt.Sprintf(
					"volume %q: its I/O limits cannot be enforced: %s is on no block device (tmpfs, overlay?)", v.Name, pv.source))
			}
			w.vols[v.Name] = pv
			continue
		}
		if err != nil {
			return err
		}
		if err := writeAtomicDir(w.a.volumeDir(w.uid, v.Name), files); err != nil {
			return fmt.Errorf("agent: volume %q: %w", v.Name, err)
		}
	}
	return w.applyIOLimits(ctx)
}

func configMapFiles(src *v1.ConfigMapVolumeSource, cm *v1.ConfigMap) (map[string]volumeFile, error) {
	data := map[string][]byte{}
	if cm != nil {
		for k, v := range cm.Data {
			data[k] = []byte(v)
		}
		for k, v := range cm.BinaryData {
			data[k] = v
		}
	}
	return project(data, src.Items, src.DefaultMode, src.Optional, "configmap", src.Name)
}

func secretFiles(src *v1.SecretVolumeSource, s *v1.Secret) (map[string]volumeFile, error) {
	data := map[string][]byte{}
	if s != nil {
		data = s.Data
	}
	return project(data, src.Items, src.DefaultMode, src.Optional, "secret", src.SecretName)
}

// project maps keys to files: every key by its name, or only items, each
// at its path with its mode (default defaultMode, else 0644).
func project(data map[string][]byte, items []v1.KeyToPath, defaultMode *int32, optional *bool, kind, name string) (map[string]volumeFile, error) {
	mode := os.FileMode(0o644)
	if defaultMode != nil {
		mode = os.FileMode(*defaultMode) & 0o777
	}
	files := map[string]volumeFile{}
	if len(items) == 0 {
		for k, v := range data {
			files[k] = volumeFile{v, mode}
		}
		return files, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if err := keyErr(false, optional, kind, name, it.Key); err != nil {
				return nil, err
			}
			continue
		}
		m := mode
		if it.Mode != nil {
			m = os.FileMode(*it.Mode) & 0o777
		}
		files[filepath.Clean(it.Path)] = volumeFile{v, m}
	}
	return files, nil
}

// writeAtomicDir makes dir hold exactly files, swapping all of them at
// once as Kubernetes' atomic writer does: the files are written into a new
// hidden directory, the ..data symlink is renamed onto it, and each
// top-level name is a symlink through ..data. A reader sees the old set or
// the new one, never a mix. Nothing is written when nothing changed.
func writeAtomicDir(dir string, files map[string]volumeFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if same(dir, files) {
		return nil
	}
	ts, err := os.MkdirTemp(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05."))
	if err != nil {
		return err
	}
	for p, f := range files {
		path := filepath.Join(ts, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			return err
		}
		if err := os.Chmod(path, f.mode); err != nil {
			return err
		}
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return err
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	top := map[string]bool{}
	for p := range files {
		top[strings.Split(p, string(filepath.Separator))[0]] = true
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !top[e.Name()] {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	for name := range top {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			return err
		}
	}
	if old != "" && old != filepath.Base(ts) {
		_ = os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// same reports whether dir's current ..data holds exactly files.
func same(dir string, files map[string]volumeFile) bool {
	cur := filepath.Join(dir, "..data")
	if _, err := os.Stat(cur); err != nil {
		return false
	}
	n := 0
	ok := true
	_ = filepath.WalkDir(cur+string(filepath.Separator), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(cur+string(filepath.Separator), path)
		f, found := files[rel]
		st, _ := d.Info()
		b, rerr := os.ReadFile(path)
		if !found || rerr != nil || !bytes.Equal(b, f.data) || st.Mode().Perm() != f.mode {
			ok = false
		}
		n++
		return nil
	})
	return ok && n == len(files)
}

// containerMounts are the container's volumeMounts as runtime mounts, and
// for runtimes without mount namespaces the env vars that say where each
// volume is (KENNEL_VOLUME_<NAME>, the name upper-cased with - as _).
// Projected volumes are always read-only.
func (w *podWorker) containerMounts(pod *v1.Pod, c *v1.Container) ([]runtime.Mount, []string, error) {
	var mounts []runtime.Mount
	var env []string
	for _, vm := range c.VolumeMounts {
		if vm.SubPath != "" {
			return nil, nil, &missingError{fmt.Sprintf("volumeMount %q: subPath is not supported by this agent yet", vm.Name)}
		}
		src, ro := w.a.volumeDir(w.uid, vm.Name), true
		if v := w.vols[vm.Name]; v != nil {
			src, ro = v.source, v.readOnly || vm.ReadOnly
		}
		mounts = append(mounts, runtime.Mount{Source: src, Target: vm.MountPath, ReadOnly: ro})
		env = append(env, "KENNEL_VOLUME_"+strings.ToUpper(strings.ReplaceAll(vm.Name, "-", "_"))+"="+src)
	}
	sort.Strings(env)
	return mounts, env, nil
}
