package testcluster

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// BuildWorkload builds the project's test workload (test/workload) into
// dir and returns the binary's path. Call it once from TestMain: the Go
// build cache makes repeats cheap, but not free.
func BuildWorkload(dir string) (string, error) {
	out := filepath.Join(dir, "workload")
	cmd := exec.Command("go", "build", "-o", out, "github.com/kennel-dev/kennel/test/workload")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testcluster: build the test workload: %v\n%s", err, b)
	}
	return out, nil
}
