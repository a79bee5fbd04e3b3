package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// heartbeatPets is a divided PetSet whose pets append "<pet> <pid>
// <unix ns> <pod IP>" to history every 100 ms (the IP says which member): the history checker rebuilds from
// it when each process ran.
func heartbeatPets(name, history, policy string, replicas int, weights, affinity string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %[1]s}
spec:
  clusterIP: None
  selector: {app: %[1]s}
  ports: [{name: p, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: %[1]s}
spec:
  serviceName: %[1]s
  replicas: %[4]d
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: main
        command: ["sh", "-c", "while true; do echo $(POD_NAME) $$$$ $$(date +%%s%%N) $(POD_IP) >> %[2]s; sleep 0.1; done"]
---
apiVersion: kennel.io/v1
kind: Placement
metadata: {name: %[1]s}
spec:
  resourceSelectors:
  - {kind: StatefulSet, name: %[1]s}
  - {kind: Service, name: %[1]s}
%[6]s  replicaScheduling:
    type: Divided
    weights: %[5]s
  failover: %[3]s
`, name, history, policy, replicas, weights, affinity)
}

// span is when one process of a pet ran, from its heartbeats, and where
// (its pod's IP, when the heartbeat says).
type span struct {
	pid, ip  string
	from, to time.Time
}

// checkHistory finds no instant at which two processes of one pet ran
// (each process counts as running from its first heartbeat to 150 ms
// after its last one) and returns each pet's processes.
func checkHistory(t *testing.T, path string) map[string][]span {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, overlaps := history(string(b))
	for _, o := range overlaps {
		t.Error(o)
	}
	return out
}

// history parses heartbeats into each pet's processes and says where two
// of one pet overlap.
func history(b string) (map[string][]span, []string) {
	var overlaps []string
	spans := map[string]map[string]*span{}
	for _, line := range strings.Split(strings.TrimSpace(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 && len(f) != 4 {
			continue // a line cut by a kill
		}
		ip := ""
		if len(f) == 4 {
			ip = f[3]
		}
		ns, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			continue
		}
		at := time.Unix(0, ns)
		if spans[f[0]] == nil {
			spans[f[0]] = map[string]*span{}
		}
		s := spans[f[0]][f[1]+" "+ip]
		if s == nil {
			s = &span{pid: f[1], ip: ip, from: at, to: at}
			spans[f[0]][f[1]+" "+ip] = s
		}
		s.to = at
	}
	out := map[string][]span{}
	for pet, byPid := range spans {
		var list []span
		for _, s := range byPid {
			list = append(list, *s)
		}
		slices.SortFunc(list, func(a, b span) int { return a.from.Compare(b.from) })
		for i := 1; i < len(list); i++ {
			if prev := list[i-1]; !list[i].from.After(prev.to.Add(150 * time.Millisecond)) {
				overlaps = append(overlaps, fmt.Sprintf("pet %s ran twice at once: pid %s at %s (%s … %s) and pid %s at %s from %s", pet, prev.pid, prev.ip,
					prev.from.Format(time.StampMilli), prev.to.Format(time.StampMilli), list[i].pid, list[i].ip, list[i].from.Format(time.StampMilli)))
			}
		}
		out[pet] = list
	}
	return out, overlaps
}

// TestHistoryChecker: the checker sees two processes of one pet that ran
// at once, and not two that ran one after the other.
func TestHistoryChecker(t *testing.T) {
	line := func(pet, pid string, ms int64) string {
		return fmt.Sprintf("%s %s %d\n", pet, pid, ms*int64(time.Millisecond))
	}
	var ok, bad string
	for ms := int64(0); ms <= 1000; ms += 100 {
		ok += line("db-0", "10", ms) + line("db-0", "20", ms+1500)
		bad += line("db-1", "30", ms) + line("db-1", "40", ms+900)
	}
	if _, o := history(ok); len(o) != 0 {
		t.Errorf("one after the other reported: %v", o)
	}
	if _, o := history(bad); len(o) != 1 || !strings.Contains(o[0], "db-1 ran twice") {
		t.Errorf("overlap not reported: %v", o)
	}
}

// runningIn is the member whose API shows the pet Running, "" if none.
func runningIn(members []*member, pet string) string {
	for _, m := range members {
		if m.cmd.ProcessState != nil {
			continue // its control plane is down
		}
		p, err := client.For[*v1.Pod](m.c, "default").Get(context.Background(), pet)
		if err == nil && p.Status.Phase == v1.PodRunning && p.DeletionTimestamp == nil {
			return m.name
		}
	}
	return ""
}

// TestFencedFailover: pets with automatic failover move out of a member
// cut off from the federation, and out of a member whose control plane
// crashed, only after they stopped there (the history checker finds no
// instant with two processes of one pet); a gdpr pet never goes to the
// non-gdpr member; a federation outage restarts no pet whose placement
// does not fail over, and moves none.
//
// It takes two minutes and its timing (6 s fencing periods) must not
// compete with other packages' tests, so `go test ./...` skips it and CI
// runs it alone (.ci/run): KENNEL_E2E_FAILOVER=1. It found one violation
// (1 run in 7, 2026-11-26): a member back from a crash published its
// renewal before deleting the pod of a pet the federation had moved, and
// its node agent restarted the container the watchdog had killed; the
// member now deletes such pods first (member.TestStrayPetsStopBeforeTheFenceRenews).
func TestFencedFailover(t *testing.T) {
	if os.Getenv("KENNEL_E2E_FAILOVER") != "1" {
		t.Skip("two minutes of timing-sensitive failover: CI runs it alone with KENNEL_E2E_FAILOVER=1 (see the comment)")
	}
	requireRoot(t, "the fence watchdog kills pets through their cgroups")
	k := build(t)
	history := filepath.Join(t.TempDir(), "history")
	port, dnsPort := freePort(t), freePort(t)
	fedArgs := []string{"--automatic-failover", "--failover-drift-margin", "3s", "--cluster-grace-period", "12s"}
	fedCmd := k.startDaemon("Kennel federation", append([]string{"federation", "up", "--name", "fed", "--domain", "example.com",
		"--data-dir", filepath.Join(k.home, "fed"), "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--dns-addr", fmt.Sprintf("127.0.0.1:%d", dnsPort), "--log-level", "warn"}, fedArgs...)...)
	proxies := make([]*testcluster.FaultProxy, 3)
	for i := range proxies {
		proxies[i] = testcluster.NewFaultProxy(t, fmt.Sprintf("127.0.0.1:%d", port))
	}
	members := k.startMembersVia(t, func(i int) string { return "https://" + proxies[i].Addr() })
	ctx := context.Background()

	// Deleted on the federation first (cleanups run last-in first-out),
	// or the members' agents would put the PetSets back.
	t.Cleanup(func() {
		for _, name := range []string{"ha", "eu", "calm"} {
			k.run("", "--context", "fed", "delete", "petset/"+name, "placement/"+name, "service/"+name, "--wait=false")
		}
	})
	auto := "{policy: Automatic, fencingPeriod: 6s}"
	k.mustRun(heartbeatPets("ha", history, auto, 3, "[{clusters: [eu-1], weight: 1}, {clusters: [eu-2], weight: 1}, {clusters: [us-1], weight: 1}]", ""),
		"--context", "fed", "apply", "-f", "-")
	k.mustRun(heartbeatPets("eu", history, auto, 2, "[{clusters: [eu-1], weight: 1}, {clusters: [eu-2], weight: 1}]",
		"  clusterAffinity:\n    labelSelector: {matchLabels: {compliance: gdpr}}\n"), "--context", "fed", "apply", "-f", "-")
	k.mustRun(heartbeatPets("calm", history, "{policy: Never}", 3, "[{clusters: [eu-1], weight: 1}, {clusters: [eu-2], weight: 1}, {clusters: [us-1], weight: 1}]", ""),
		"--context", "fed", "apply", "-f", "-")
	where := func(want map[string]string) {
		t.Helper()
		got := map[string]string{}
		defer func() {
			if t.Failed() {
				for _, m := range members {
					out, errOut, _ := k.run("", "--context", m.context, "get", "pods", "-o", "wide")
					t.Logf("%s:\n%s%s", m.name, out, errOut)
				}
				out, _, _ := k.run("", "--context", "fed", "federation", "status")
				t.Logf("pets running in %v, want %v\n%s", got, want, out)
			}
		}()
		testcluster.Eventually(t, 2*time.Minute, fmt.Sprintf("pets running in %v", want), func() bool {
			ok := true
			for pet, m := range want {
				got[pet] = runningIn(members, pet)
				ok = ok && got[pet] == m
			}
			return ok
		})
	}
	where(map[string]string{"ha-0": "eu-1", "ha-1": "eu-2", "ha-2": "us-1", "eu-0": "eu-1", "eu-1": "eu-2", "calm-1": "eu-2"})

	// 1. eu-2 is cut off from the federation: its automatic pets move to
	// eu-1 (next to their neighbours' ordinals; eu-1 is the only other gdpr
	// member for eu-1), its calm pet stays.
	proxies[1].Cut()
	cut := time.Now()
	where(map[string]string{"ha-1": "eu-1", "eu-1": "eu-1", "calm-1": "eu-2"})
	t.Logf("eu-2 cut off: its pets serve in eu-1 after %v", time.Since(cut).Round(100*time.Millisecond))
	proxies[1].Heal()
	testcluster.Eventually(t, time.Minute, "eu-2's fenced pets removed when it is back", func() bool {
		for _, pet := range []string{"ha-1", "eu-1"} {
			if p, err := client.For[*v1.Pod](members[1].c, "default").Get(ctx, pet); err == nil && p.DeletionTimestamp == nil {
				return false
			}
		}
		return true
	})

	// 2. us-1's control plane crashes (its pets' processes live on until
	// the watchdog fences them): ha-2 moves to eu-2, which has none of
	// ha now; the gdpr set never goes there.
	members[2].cmd.Process.Signal(syscall.SIGKILL)
	members[2].cmd.Wait()
	crash := time.Now()
	where(map[string]string{"ha-2": "eu-2"})
	t.Logf("us-1 crashed: ha-2 serves in eu-2 after %v", time.Since(crash).Round(100*time.Millisecond))
	logFenceDir(t, filepath.Join(k.home, "us-1", "agents", "node-1", "fence"), crash)
	// us-1 comes back: its fenced pet is not started again, and goes.
	m := members[2]
	m.cmd = k.startDaemon("Kennel is up", "up", "--data-dir", filepath.Join(k.home, m.name), "--listen", "127.0.0.1:0",
		"--dns-addr", "127.0.0.1:0", "--cluster-dns-ip", "127.0.9.13", "--context-name", m.context,
		"--first-pod-range", "70", "--log-level", "warn", "--node-storage", "iops=5000,bandwidth=500Mi,capacity=2Gi")
	m.c = k.contextClient(m.context)
	testcluster.Eventually(t, time.Minute, "us-1's fenced ha-2 removed", func() bool {
		_, err := client.For[*v1.Pod](m.c, "default").Get(ctx, "ha-2")
		return v1.IsNotFound(err)
	})

	// 3. The federation is down for a minute: no calm pet restarts, nothing
	// moves when it comes back.
	before := podIdentities(t, members[:2])
	fedCmd.Process.Signal(syscall.SIGKILL)
	fedCmd.Wait()
	outage := time.After(60 * time.Second)
	<-outage
	k.startDaemon("Kennel federation", append([]string{"federation", "up", "--name", "fed", "--domain", "example.com",
		"--data-dir", filepath.Join(k.home, "fed"), "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--dns-addr", fmt.Sprintf("127.0.0.1:%d", dnsPort), "--log-level", "warn"}, fedArgs...)...)
	where(map[string]string{"ha-0": "eu-1", "ha-1": "eu-1", "ha-2": "eu-2", "eu-0": "eu-1", "eu-1": "eu-1", "calm-0": "eu-1", "calm-1": "eu-2"})
	after := podIdentities(t, members[:2])
	for key, id := range before {
		if strings.Contains(key, "/calm-") && after[key] != id {
			t.Errorf("%s changed across the federation's outage: %s → %s", key, id, after[key])
		}
	}

	// The checker: never two processes of one pet at once; every
	// automatic pet ended up running somewhere eligible.
	spans := checkHistory(t, history)
	for _, pet := range []string{"ha-0", "ha-1", "ha-2", "eu-0", "eu-1"} {
		if len(spans[pet]) == 0 {
			t.Errorf("pet %s never ran", pet)
		}
	}
	for _, pet := range []string{"eu-0", "eu-1"} {
		if m := runningIn(members, pet); m == "us-1" {
			t.Errorf("gdpr pet %s runs in non-gdpr us-1", pet)
		}
	}
	// Deleted on the federation, every pet goes from every member.
	for _, name := range []string{"ha", "eu", "calm"} {
		k.mustRun("", "--context", "fed", "delete", "petset/"+name, "placement/"+name, "service/"+name)
	}
	for _, m := range members {
		testcluster.Eventually(t, time.Minute, m.name+" emptied", func() bool {
			pods, err := client.For[*v1.Pod](m.c, "default").List(ctx, client.ListOptions{})
			return err == nil && len(pods.Items) == 0
		})
	}
}

// logFenceDir logs what a node's fence watchdog did and holds: its log,
// whether the process it logged last is alive, and every fence file and
// record (to find why a pet outlived its deadline, should one).
func logFenceDir(t *testing.T, dir string, crash time.Time) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "watchdog.log"))
	if err != nil {
		t.Logf("fence watchdog log: %v", err)
	}
	alive := "no pid logged"
	if i := strings.LastIndex(string(b), "pid="); i >= 0 {
		pid := strings.Fields(string(b)[i+len("pid="):])[0]
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		alive = fmt.Sprintf("pid %s: %q (%v)", pid, strings.TrimSpace(string(st)), err)
	}
	t.Logf("us-1's fence watchdog (crash at %s), %s:\n%s", crash.Format(time.StampMilli), alive, b)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if c, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && e.Name() != "watchdog.log" {
			t.Logf("%s: %s", e.Name(), c)
		}
	}
}
