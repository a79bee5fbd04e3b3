// Package fence is Kennel's node-level fencing: a fenceable pod (a pet of
// a federated workload with automatic failover) may run on a member
// cluster's node only while the member's federation agent keeps renewing
// its membership. The node agent keeps, for each running fenceable pod, a
// fence file with the pod's deadline, its cgroups and its process groups;
// the fence watchdog, a process of its own that outlives the agent,
// SIGKILLs every process of a pod whose deadline has passed and leaves a
// record of it.
//
// The fence directory (<agent data dir>/fence) holds:
//
//	<uid>.fence     a running fenceable pod (File), written by the agent
//	<uid>.fenced    what the watchdog did when that deadline passed (Record)
//	watchdog.lock   flock-ed by the directory's one watchdog
//	watchdog.log    the watchdog's output, when the agent started it
//
// The fencing clock: the federation agent writes KeyRenewed into ConfigMap
// ConfigMapNamespace/ConfigMapName; a pod's deadline is that time plus the
// pod's AnnotationFencingPeriod.
package fence

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/atomicfile"
)

// Names the federation and the node agent share (documented in api/v1).
const (
	LabelFenced             = v1.LabelFenced
	AnnotationFencingPeriod = v1.AnnotationFencingPeriod
	ConfigMapNamespace      = v1.NamespaceSystem
	ConfigMapName           = v1.FenceConfigMap
	KeyRenewed              = v1.FenceRenewed
	// DefaultPeriod is the fencing period of a fenceable pod whose
	// annotation is missing or invalid.
	DefaultPeriod = v1.DefaultFencingPeriod
)

// File is what the watchdog needs to fence one pod.
type File struct {
	// Deadline is when the pod's processes must all be dead unless the
	// file is rewritten with a later one.
	Deadline time.Time `json:"deadline"`
	// Pod is namespace/name, for the log.
	Pod string `json:"pod"`
	UID string `json:"uid"`
	// Cgroups are the pod's cgroup directories: on v1 one per hierarchy
	// the runtime uses, on v2 the one.
	Cgroups []string `json:"cgroups,omitempty"`
	// PGIDs are the process groups of the pod's running containers.
	PGIDs []int `json:"pgids,omitempty"`
	// PGIDStarts are the start times of the groups' leaders (StartTime),
	// in PGIDs' order. A group whose id now names a process that started
	// at another time is not the pod's — the leader ended, the group with
	// it, and the id was given to another process — and is left alone;
	// while any process is in a group the kernel gives its id to no new
	// process, so a group whose leader is gone is still the pod's.
	PGIDStarts []uint64 `json:"pgidStarts,omitempty"`
}

// StartTime is when process pid started, in clock ticks after boot
// (field 22 of /proc/<pid>/stat): with the pid, it names one process
// across pid reuse.
func StartTime(pid int) (uint64, bool) {
	st, ok := readStat("/proc", pid)
	return st.start, ok
}

// Record is what the watchdog did when a File's deadline passed.
type Record struct {
	File
	// KilledAt is when the watchdog first sent SIGKILL for this deadline.
	KilledAt time.Time `json:"killedAt"`
	// Done is when no process was left, or when the watchdog gave up.
	Done time.Time `json:"done"`
	// Killed counts the processes sent SIGKILL.
	Killed int `json:"killed"`
	// Survivors counts the processes still alive when it gave up.
	Survivors int `json:"survivors,omitempty"`
}

const (
	fileSuffix   = ".fence"
	recordSuffix = ".fenced"
)

// Write writes (atomically) the fence file of f.UID in dir, creating dir.
func Write(dir string, f File) error {
	if err := checkUID(f.UID); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("fence: directory %s: %w", dir, err)
	}
	return writeJSON(filepath.Join(dir, f.UID+fileSuffix), f)
}

// Read reads the fence file of uid in dir; the error wraps fs.ErrNotExist
// when there is none.
func Read(dir, uid string) (File, error) {
	var f File
	if err := checkUID(uid); err != nil {
		return f, err
	}
	err := readJSON(filepath.Join(dir, uid+fileSuffix), &f)
	return f, err
}

// ReadRecord reads the record of uid's last fencing in dir; the error
// wraps fs.ErrNotExist when there is none.
func ReadRecord(dir, uid string) (Record, error) {
	var r Record
	if err := checkUID(uid); err != nil {
		return r, err
	}
	err := readJSON(filepath.Join(dir, uid+recordSuffix), &r)
	return r, err
}

// Remove removes uid's fence file from dir (the pod no longer needs
// fencing); a missing one is not an error.
func Remove(dir, uid string) error { return remove(dir, uid, fileSuffix) }

// Forget removes uid's fence file and record from dir (the pod is gone);
// missing ones are not an error.
func Forget(dir, uid string) error { return remove(dir, uid, fileSuffix, recordSuffix) }

func remove(dir, uid string, suffixes ...string) error {
	if err := checkUID(uid); err != nil {
		return err
	}
	var errs []error
	for _, suffix := range suffixes {
		if err := os.Remove(filepath.Join(dir, uid+suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("fence: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Pending reports whether dir holds a fence file: work for a watchdog.
func Pending(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if uid, ok := strings.CutSuffix(e.Name(), fileSuffix); ok && checkUID(uid) == nil {
			return true
		}
	}
	return false
}

// UIDs lists the pods that have a fence file or a record in dir, sorted;
// a missing dir has none.
func UIDs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fence: %w", err)
	}
	var uids []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // a temporary file of an atomic write
		}
		uid, ok := strings.CutSuffix(e.Name(), fileSuffix)
		if !ok {
			uid, ok = strings.CutSuffix(e.Name(), recordSuffix)
		}
		if ok && !slices.Contains(uids, uid) {
			uids = append(uids, uid)
		}
	}
	slices.Sort(uids)
	return uids, nil
}

// PodPeriod reports whether the pod is fenceable (LabelFenced "true") and
// its fencing period. A fenceable pod whose annotation is missing or not a
// positive duration gets DefaultPeriod, and an error saying why.
func PodPeriod(pod *v1.Pod) (period time.Duration, fenced bool, err error) {
	if pod.Labels[LabelFenced] != "true" {
		return 0, false, nil
	}
	s, ok := pod.Annotations[AnnotationFencingPeriod]
	if !ok {
		return DefaultPeriod, true, fmt.Errorf("fence: pod %s: annotation %s is missing; using %s", v1.ObjectKey(pod), AnnotationFencingPeriod, DefaultPeriod)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return DefaultPeriod, true, fmt.Errorf("fence: pod %s: annotation %s %q is not a positive duration; using %s", v1.ObjectKey(pod), AnnotationFencingPeriod, s, DefaultPeriod)
	}
	return d, true, nil
}

// Renewed reads KeyRenewed from the fence ConfigMap; ok is false when cm
// is nil or the value is missing or unparsable.
func Renewed(cm *v1.ConfigMap) (t time.Time, ok bool) {
	if cm == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, cm.Data[KeyRenewed])
	return t, err == nil
}

// FormatRenewed spells t the way KeyRenewed holds it.
func FormatRenewed(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Deadline is a fenceable pod's deadline: the renewal time plus its
// period, or, with no renewal known (ok false), its creation plus its
// period — such a pod runs only while someone renews.
func Deadline(pod *v1.Pod, period time.Duration, renewed time.Time, ok bool) time.Time {
	if ok {
		return renewed.Add(period)
	}
	var created time.Time
	if pod.CreationTimestamp != nil {
		created = pod.CreationTimestamp.Time
	}
	return created.Add(period)
}

func checkUID(uid string) error {
	if uid == "" || uid == "." || uid == ".." || filepath.Base(uid) != uid || strings.HasPrefix(uid, ".") {
		return fmt.Errorf("fence: uid %q is not a valid file name", uid)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("fence: encode %s: %w", filepath.Base(path), err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("fence: decode %s: %w", path, err)
	}
	return nil
}
