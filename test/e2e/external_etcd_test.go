package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/kennel-dev/kennel/internal/testenv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kennel-dev/kennel/internal/testcluster"
)

// requireBinary finds a third-party program the test needs.
func requireBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	return testenv.RequireTool(t, name, pkg)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startEtcd runs Debian's etcd on loopback ports and returns its client URL.
func startEtcd(t *testing.T) string {
	bin := requireBinary(t, "etcd", "etcd-server")
	dir := t.TempDir()
	client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "--name", "e2e", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "e2e="+peer)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testcluster.Eventually(t, 30*time.Second, "etcd to be healthy", func() bool {
		return exec.Command("etcdctl", "--endpoints", client, "endpoint", "health").Run() == nil
	})
	return client
}

// server runs `kennel server` on the external etcd and returns its URL.
func (k *kennel) server(etcd, name string) (*exec.Cmd, string) {
	k.t.Helper()
	data := filepath.Join(k.home, name)
	cmd := exec.Command(k.bin, "server", "--etcd-endpoints", etcd, "--data-dir", data, "--listen", "127.0.0.1:0", "--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", "", "--log-level", "warn")
	cmd.Env = k.env()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "API" {
				urls <- f[2]
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			k.t.Fatalf("kennel server exited: %s", stderr.String())
		}
		return cmd, u
	case <-time.After(60 * time.Second):
		k.t.Fatalf("kennel server not up: %s", stderr.String())
	}
	return nil, ""
}

// Two control planes on one external etcd (Debian's etcd-server): both
// serve the same objects; the controller lease has one holder, and when it
// dies the other takes over.
func TestTwoServersOnExternalEtcd(t *testing.T) {
	etcd := startEtcd(t)
	k := build(t)
	cmdA, urlA := k.server(etcd, "a")
	cmdB, urlB := k.server(etcd, "b")
	tokA, err := os.ReadFile(filepath.Join(k.home, "a", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	cli := func(url, dataDir string, stdin string, args ...string) (string, string, error) {
		base := []string{"--server", url, "--token", strings.TrimSpace(string(tokA)),
			"--certificate-authority", filepath.Join(k.home, dataDir, "pki", "ca.crt")}
		return k.run(stdin, append(base, args...)...)
	}
	if out, errOut, err := cli(urlA, "a", manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply through server a: %v %s %s", err, out, errOut)
	}
	out, errOut, err := cli(urlB, "b", "", "get", "configmap", "settings", "-o", "name")
	if err != nil || strings.TrimSpace(out) != "configmap/settings" {
		t.Fatalf("server b does not see server a's write: %q %q %v", out, errOut, err)
	}
	holder := func() string {
		out, _, err := cli(urlB, "b", "", "get", "lease", "kennel-controller-manager", "-n", "kennel-system", "-o", "json")
		if err != nil {
			return ""
		}
		var l struct {
			Spec struct {
				HolderIdentity string `json:"holderIdentity"`
			} `json:"spec"`
		}
		json.Unmarshal([]byte(out), &l)
		return l.Spec.HolderIdentity
	}
	hostport := func(u string) string { return strings.TrimPrefix(u, "https://") }
	testcluster.Eventually(t, 30*time.Second, "a control plane to hold the controller lease", func() bool {
		h := holder()
		return strings.Contains(h, hostport(urlA)) || strings.Contains(h, hostport(urlB))
	})
	leader, other := cmdA, urlB
	if !strings.Contains(holder(), hostport(urlA)) {
		leader, other = cmdB, urlA
	}
	leader.Process.Kill() // no release: the other must wait for the lease to expire
	leader.Wait()
	testcluster.Eventually(t, 60*time.Second, "the other control plane to take over the lease", func() bool {
		return strings.Contains(holder(), hostport(other))
	})
}
