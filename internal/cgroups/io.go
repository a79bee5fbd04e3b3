package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

// v1ThrottleFile is one blkio.throttle file and the IOLimit rate it holds.
type v1ThrottleFile struct {
	file string
	rate func(IOLimit) uint64
}

func v1ThrottleFiles() []v1ThrottleFile {
	return []v1ThrottleFile{
		{"blkio.throttle.read_iops_device", func(l IOLimit) uint64 { return l.ReadIOPS }},
		{"blkio.throttle.write_iops_device", func(l IOLimit) uint64 { return l.WriteIOPS }},
		{"blkio.throttle.read_bps_device", func(l IOLimit) uint64 { return l.ReadBPS }},
		{"blkio.throttle.write_bps_device", func(l IOLimit) uint64 { return l.WriteBPS }},
	}
}

// applyIOV1 makes the blkio throttle files of dir hold exactly limits: one
// "major:minor rate" write per device, and a rate of 0 (which removes the
// rule) for devices throttled now but no longer wanted. dir is "" when blkio
// is not mounted.
func applyIOV1(dir string, limits []IOLimit) error {
	if len(limits) == 0 && (dir == "" || !isFile(filepath.Join(dir, "blkio.throttle.read_iops_device"))) {
		return nil
	}
	if dir == "" {
		return errors.New("cgroups: io limits need the blkio controller, which is not mounted")
	}
	for _, tf := range v1ThrottleFiles() {
		path := filepath.Join(dir, tf.file)
		current, err := throttledDevices(path)
		if err != nil {
			return err
		}
		want := make(map[string]uint64)
		for _, l := range limits {
			if r := tf.rate(l); r > 0 {
				want[l.Device] = r
			}
		}
		for _, dev := range current {
			if _, ok := want[dev]; !ok {
				if err := writeFile(path, dev+" 0"); err != nil {
					return err
				}
			}
		}
		for _, l := range limits {
			if r, ok := want[l.Device]; ok {
				if err := writeFile(path, fmt.Sprintf("%s %d", l.Device, r)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// applyIOV2 makes dir/io.max hold exactly limits: one line per device, and
// all-"max" lines for devices throttled now but no longer wanted.
func applyIOV2(dir string, limits []IOLimit) error {
	path := filepath.Join(dir, "io.max")
	if len(limits) == 0 && !isFile(path) {
		return nil
	}
	current, err := throttledDevices(path)
	if err != nil {
		return err
	}
	want := make(map[string]bool)
	for _, l := range limits {
		want[l.Device] = true
	}
	for _, dev := range current {
		if !want[dev] {
			if err := writeFile(path, dev+" rbps=max wbps=max riops=max wiops=max"); err != nil {
				return err
			}
		}
	}
	for _, l := range limits {
		if err := writeFile(path, ioMaxLine(l)); err != nil {
			return err
		}
	}
	return nil
}

// ioMaxLine is l as an io.max line; a zero rate is "max".
func ioMaxLine(l IOLimit) string {
	rate := func(n uint64) string {
		if n == 0 {
			return "max"
		}
		return strconv.FormatUint(n, 10)
	}
	return fmt.Sprintf("%s riops=%s wiops=%s rbps=%s wbps=%s",
		l.Device, rate(l.ReadIOPS), rate(l.WriteIOPS), rate(l.ReadBPS), rate(l.WriteBPS))
}

// throttledDevices lists the devices named at the start of each line of a
// throttle file (v1 "8:0 100", v2 "8:0 rbps=… ").
func throttledDevices(path string) ([]string, error) {
	s, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cgroups: io limits need %s: %w", path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	var devs []string
	for line := range strings.Lines(s) {
		if f := strings.Fields(line); len(f) > 0 {
			devs = append(devs, f[0])
		}
	}
	return devs, nil
}
