package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/kennel-dev/kennel/internal/atomicfile"
	"github.com/kennel-dev/kennel/internal/volume/flex"
	"github.com/kennel-dev/kennel/internal/volume/local"
)

// Node-wide volume state. A loop-backed local volume is mounted once per
// node and a FlexVolume device once per volume; the pods using each are
// its users, and the last to leave unmounts it. Each pod's set-ups are
// also recorded on disk, in its volume directory, so that an agent that
// restarts (or finds a pod deleted while it was down) knows what to tear
// down and who still uses what.

// recordFile holds a pod's volume records, beside its volumes.
const recordFile = ".kennel-volumes.json"

// volumeRecord is what tearing one volume down needs.
type volumeRecord struct {
	// Kind is "local-image" or "flex".
	Kind string `json:"kind"`
	// Key names the node-wide mount: the PV for a local image,
	// "flex/<name>" for a FlexVolume device mount.
	Key string `json:"key"`
	// Image, FSType and Dir: the loop image and its node-wide mount.
	Image string `json:"image,omitempty"`
	Dir   string `json:"dir,omitempty"`
	// Flex: the FlexVolume and its node-wide device mount dir (Dir).
	Flex *flex.Volume `json:"flex,omitempty"`
}

// volumeUsers tracks the users of node-wide mounts, and serialises the
// work on each mount with a lock of its own, so a slow driver holds up
// only the volume it serves.
type volumeUsers struct {
	mu    sync.Mutex
	users map[string]map[string]bool // key → pod uids
	locks map[string]*sync.Mutex
}

func newVolumeUsers() *volumeUsers {
	return &volumeUsers{users: map[string]map[string]bool{}, locks: map[string]*sync.Mutex{}}
}

// lock takes the lock of one node-wide mount; the caller unlocks it.
func (u *volumeUsers) lock(key string) *sync.Mutex {
	u.mu.Lock()
	l := u.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		u.locks[key] = l
	}
	u.mu.Unlock()
	l.Lock()
	return l
}

func (u *volumeUsers) add(key, uid string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.users[key] == nil {
		u.users[key] = map[string]bool{}
	}
	u.users[key][uid] = true
}

// remove drops a user and reports whether none is left.
func (u *volumeUsers) remove(key, uid string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.users[key], uid)
	if len(u.users[key]) == 0 {
		delete(u.users, key)
		return true
	}
	return false
}

func (u *volumeUsers) used(key string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.users[key]) > 0
}

// readRecords reads a pod's volume records (none if there is no file).
func (a *Agent) readRecords(uid string) (map[string]volumeRecord, error) {
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, "volumes", uid, recordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]volumeRecord{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: volume records of pod %s: %w", uid, err)
	}
	recs := map[string]volumeRecord{}
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, fmt.Errorf("agent: volume records of pod %s: %w", uid, err)
	}
	return recs, nil
}

// writeRecord records (or, with rec nil, forgets) one volume of a pod.
func (a *Agent) writeRecord(uid, name string, rec *volumeRecord) error {
	recs, err := a.readRecords(uid)
	if err != nil {
		return err
	}
	if rec == nil {
		if _, ok := recs[name]; !ok {
			return nil
		}
		delete(recs, name)
	} else {
		recs[name] = *rec
	}
	dir := filepath.Join(a.cfg.DataDir, "volumes", uid)
	if len(recs) == 0 {
		err := os.Remove(filepath.Join(dir, recordFile))
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		return err
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, recordFile), b, 0o600)
}

// loadVolumeUsers rebuilds, at start, who uses each node-wide mount from
// the records every pod left on disk.
func (a *Agent) loadVolumeUsers() {
	dirs, _ := os.ReadDir(filepath.Join(a.cfg.DataDir, "volumes"))
	for _, d := range dirs {
		recs, err := a.readRecords(d.Name())
		if err != nil {
			a.log.Warn("cannot read volume records", "uid", d.Name(), "err", err)
			continue
		}
		for _, r := range recs {
			a.vols.add(r.Key, d.Name())
		}
	}
}

// tearDownRecorded undoes one recorded volume set-up of pod uid: it
// leaves the node-wide mount, unmounting it when it was the last user,
// and then forgets the record.
func (a *Agent) tearDownRecorded(ctx context.Context, uid, name string, r volumeRecord) error {
	l := a.vols.lock(r.Key)
	defer l.Unlock()
	last := a.vols.remove(r.Key, uid)
	var err error
	switch r.Kind {
	case "local-image":
		if last {
			err = local.UnmountImage(ctx, r.Image, r.Dir)
		}
	case "flex":
		err = a.flex.TearDown(ctx, flex.TearDownRequest{Volume: *r.Flex, Node: a.cfg.NodeName,
			PodDir: a.volumeDir(uid, name), GlobalDir: r.Dir, LastUser: last})
	}
	if err != nil {
		a.vols.add(r.Key, uid) // still a user: the next try tears down again
		return err
	}
	return a.writeRecord(uid, name, nil)
}
