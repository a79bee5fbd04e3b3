package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// writeFile writes one value into an existing cgroupfs file. cgroupfs
// files cannot be created, so O_CREATE is deliberately absent: a missing file
// is an error that names it.
func writeFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("cgroups: write %q to %s: %w", value, path, unwrapPath(err))
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cgroups: write %q to %s: %w", value, path, unwrapPath(err))
	}
	return nil
}

// readFile returns a cgroupfs file's content without the trailing newline.
func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cgroups: read %s: %w", path, unwrapPath(err))
	}
	return strings.TrimSpace(string(b)), nil
}

// readUint reads a file holding one unsigned number.
func readUint(path string) (uint64, error) {
	s, err := readFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cgroups: parse %s: %w", path, err)
	}
	return n, nil
}

// readKey reads the value of key from a flat-keyed file of "key value"
// lines (cpu.stat, memory.events, memory.oom_control). A missing key is 0:
// older kernels lack some counters.
func readKey(path, key string) (uint64, error) {
	var n uint64
	err := readKeys(path, map[string]*uint64{key: &n})
	return n, err
}

// readKeys reads several keys of a flat-keyed file in one read, each into
// its target; a missing key leaves its target 0.
func readKeys(path string, keys map[string]*uint64) error {
	s, err := readFile(path)
	if err != nil {
		return err
	}
	for _, dst := range keys {
		*dst = 0
	}
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		dst, want := keys[k]
		if !ok || !want {
			continue
		}
		if *dst, err = strconv.ParseUint(strings.TrimSpace(v), 10, 64); err != nil {
			return fmt.Errorf("cgroups: parse %s of %s: %w", k, path, err)
		}
	}
	return nil
}

// readPids reads a cgroup.procs file.
func readPids(path string) ([]int, error) {
	s, err := readFile(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("cgroups: parse %s: %w", path, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// unwrapPath drops the *fs.PathError wrapper, whose path the caller's
// message already names; errors.Is(err, fs.ErrNotExist) still holds.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
