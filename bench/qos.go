package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kennel-dev/kennel/internal/cgroups"
	"github.com/kennel-dev/kennel/internal/volume/local"
)

// QoSKind is one of the four limits a volume can have.
type QoSKind string

// The four QoS limits, measured with fio as in the issue: 4 KiB random
// I/O for IOPS, 1 MiB sequential I/O for bandwidth, always O_DIRECT.
const (
	ReadIOPS       QoSKind = "read-iops"
	WriteIOPS      QoSKind = "write-iops"
	ReadBandwidth  QoSKind = "read-bandwidth"
	WriteBandwidth QoSKind = "write-bandwidth"
)

// QoSRig is a loop-backed ext4 volume made by the local driver, a cgroup
// manager, and fio: the path a pod's volume I/O takes, with the limit
// written into a cgroup exactly as the agent writes it into a pod's.
type QoSRig struct {
	dir, mnt, image, device string
	fio                     string
	cg                      *cgroups.Manager
}

// NewQoSRig makes a size-byte ext4 volume under dir. It needs root, a
// cgroup hierarchy with I/O control, mkfs.ext4 and fio.
func NewQoSRig(ctx context.Context, dir string, size int64) (*QoSRig, error) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		return nil, fmt.Errorf("bench: fio is not installed: %w", err)
	}
	mode := cgroups.Detect("/sys/fs/cgroup")
	if mode == cgroups.ModeNone {
		return nil, fmt.Errorf("bench: no writable cgroup hierarchy")
	}
	cg, err := cgroups.NewManager("/sys/fs/cgroup", mode, "kennel-bench-qos")
	if err != nil {
		return nil, err
	}
	image, err := local.Provision(ctx, dir, "qos", size, "ext4")
	if err != nil {
		return nil, err
	}
	mnt := filepath.Join(dir, "mnt")
	dev, err := local.MountImage(ctx, image, "ext4", mnt, false)
	if err != nil {
		return nil, err
	}
	return &QoSRig{dir: dir, mnt: mnt, image: image, device: dev, fio: fio, cg: cg}, nil
}

// Device is the volume's loop device, "major:minor".
func (r *QoSRig) Device() string { return r.device }

// Close unmounts and removes the volume and the cgroups.
func (r *QoSRig) Close(ctx context.Context) error {
	err := local.UnmountImage(ctx, r.image, r.mnt)
	if derr := local.Delete(ctx, r.image); err == nil {
		err = derr
	}
	if _, cerr := r.cg.RemoveParent(); err == nil {
		err = cerr
	}
	return err
}

// Measure runs fio for seconds in a cgroup limited to limit (0: no
// limit) of kind on the volume's device and returns what fio measured:
// IOPS, or bytes per second.
func (r *QoSRig) Measure(ctx context.Context, kind QoSKind, limit uint64, seconds int) (float64, error) {
	l := cgroups.IOLimit{Device: r.device}
	rw, bs := "randread", "4k"
	switch kind {
	case ReadIOPS:
		l.ReadIOPS = limit
	case WriteIOPS:
		l.WriteIOPS, rw = limit, "randwrite"
	case ReadBandwidth:
		l.ReadBPS, rw, bs = limit, "read", "1M"
	case WriteBandwidth:
		l.WriteBPS, rw, bs = limit, "write", "1M"
	}
	var res cgroups.Resources
	if limit > 0 {
		res.IO = []cgroups.IOLimit{l}
	}
	g, err := r.cg.Create(fmt.Sprintf("%s-%d", kind, limit), res)
	if err != nil {
		return 0, err
	}
	defer g.Delete()
	// fio waits on its stdin until it is in the cgroup, so that none of
	// its I/O escapes the limit.
	cmd := exec.CommandContext(ctx, "sh", "-c", `read _; exec "$@"`, "fio", r.fio, "--name=qos", "--directory="+r.mnt,
		"--size=128M", "--direct=1", "--rw="+rw, "--bs="+bs, "--ioengine=psync", "--time_based",
		fmt.Sprintf("--runtime=%d", seconds), "--output-format=json")
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	if err := g.Join(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, err
	}
	in.Write([]byte("go\n"))
	in.Close()
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("bench: fio: %w\n%s", err, out.String())
	}
	return parseFio(out.String(), strings.Contains(rw, "write"), bs == "1M")
}

func parseFio(s string, write, bandwidth bool) (float64, error) {
	i := strings.Index(s, "{")
	if i < 0 {
		return 0, fmt.Errorf("bench: no fio JSON in %q", s)
	}
	dec := json.NewDecoder(strings.NewReader(s[i:]))
	var raw struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	if err := dec.Decode(&raw); err != nil || len(raw.Jobs) != 1 {
		return 0, fmt.Errorf("bench: fio JSON: %v", err)
	}
	var job map[string]json.RawMessage
	if err := json.Unmarshal(raw.Jobs[0], &job); err != nil {
		return 0, err
	}
	key := "read"
	if write {
		key = "write"
	}
	var side struct {
		IOPS    float64 `json:"iops"`
		BWBytes float64 `json:"bw_bytes"`
	}
	if err := json.Unmarshal(job[key], &side); err != nil {
		return 0, err
	}
	if bandwidth {
		return side.BWBytes, nil
	}
	return side.IOPS, nil
}
