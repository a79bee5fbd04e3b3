// Package testenv holds the checks tests make of the machine they run on.
// A test that needs root or a third-party program skips on a developer's
// machine that lacks it, saying what to install; in CI (CI=true), which
// runs as root and installs every program .ci/run lists, it fails
// instead, so those tests never silently stop running there.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireRoot needs the test to run as root; why says for what.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("needs root (%s): CI runs as root", why)
	}
	t.Skipf("needs root: %s", why)
}

// RequireTool returns the path of a program the test runs, from the
// Debian package pkg.
func RequireTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed: .ci/run installs the Debian package %s", name, pkg)
	}
	t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	return ""
}
