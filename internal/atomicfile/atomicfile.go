// Package atomicfile writes files so that a crash leaves either the old
// file or the new one, never a half-written one (temporary file, fsync,
// rename).
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes data to path through a temporary file and a
// rename, so a crash never leaves a half-written file.
func Write(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
