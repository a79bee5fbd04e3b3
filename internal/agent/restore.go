package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/atomicfile"
	"github.com/kennel-dev/kennel/internal/volume/transfer"
)

// The restore of a claim's volume from another cluster's agent
// (AnnotationRestoreFrom): once the volume is set up and before any
// container of the pod starts, its files are pulled from the export,
// resumably, once per RestoreSource.ID. The state of a restore under way
// and the mark of one done are kept in the data dir, under restores/,
// by PV name and ID: a restarted agent, or a pod started again, resumes
// the one and skips the other.

// restoreStatusInterval is how often at most the pod's status says how
// far a restore is.
const restoreStatusInterval = time.Second

// restoreFiles are the state file of a restore and its done mark.
func (a *Agent) restoreFiles(pvName, id string) (state, done string) {
	base := filepath.Join(a.cfg.DataDir, "restores", pvName+"."+url.PathEscape(id))
	return base + ".state.json", base + ".done.json"
}

// restoreClaim fills the claim's volume at dir from its restore-from
// source, unless that restore is done already. It returns an error while
// the volume is not yet a full, verified copy: the pod worker retries,
// and the copy resumes.
func (w *podWorker) restoreClaim(ctx context.Context, pod *v1.Pod, c *v1.PersistentVolumeClaim, pvName, dir string) error {
	raw, ok := c.Annotations[v1.AnnotationRestoreFrom]
	if !ok {
		return nil
	}
	var src v1.RestoreSource
	if err := json.Unmarshal([]byte(raw), &src); err != nil {
		return &missingError{fmt.Sprintf("persistentvolumeclaim %q: annotation %s: %v", c.Name, v1.AnnotationRestoreFrom, err)}
	}
	ts := transfer.Source{ID: src.ID, URL: src.URL, CertSHA256: src.CertSHA256, Token: src.Token}
	if err := ts.Validate(); err != nil {
		return &missingError{fmt.Sprintf("persistentvolumeclaim %q: annotation %s: %v", c.Name, v1.AnnotationRestoreFrom, err)}
	}
	stateFile, doneFile := w.a.restoreFiles(pvName, src.ID)
	// One restore of a volume at a time, whichever pods use it.
	l := w.a.vols.lock("restore/" + pvName)
	defer l.Unlock()
	if st, ok := readRestoreDone(doneFile); ok {
		st.Claim = c.Name
		w.setRestore(st)
		return nil
	}
	if name := w.startedContainer(pod); name != "" {
		// The pod ran on this volume already (its agent lost the mark of
		// the restore, or the annotation came late): a copy now would
		// overwrite what the pet wrote.
		w.a.event(ctx, pod, v1.EventTypeWarning, "RestoreSkipped", fmt.Sprintf(
			"persistentvolumeclaim %q is not restored from %s: container %q of the pod has run on it already", c.Name, src.URL, name))
		return nil
	}
	return w.runRestore(ctx, pod, c.Name, ts, dir, stateFile, doneFile)
}

// startedContainer names a container of the pod the runtime has, or "".
func (w *podWorker) startedContainer(pod *v1.Pod) string {
	for _, c := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
		if _, _, err := w.a.rt.ContainerStatus(w.uid, c.Name); err == nil {
			return c.Name
		}
	}
	return ""
}

func readRestoreDone(path string) (v1.VolumeRestoreStatus, bool) {
	var st v1.VolumeRestoreStatus
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &st) != nil || !st.Done {
		return v1.VolumeRestoreStatus{}, false
	}
	return st, true
}

// runRestore copies the volume, saying how far it is in the pod's status
// and in events, and marks it done once every file is verified and on
// disk.
func (w *podWorker) runRestore(ctx context.Context, pod *v1.Pod, claim string, src transfer.Source, dir, stateFile, doneFile string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.a.wg.Go(func() { w.cancelWhenGoing(ctx, cancel) })
	st := v1.VolumeRestoreStatus{Claim: claim, ID: src.ID}
	started, announced := time.Now(), false
	how := "copying"
	if _, err := os.Stat(stateFile); err == nil {
		how = "resuming an earlier copy"
	}
	var lastWrite time.Time
	progress := func(p transfer.Progress) {
		st.BytesDone, st.BytesTotal, st.Files, st.FilesTotal = p.BytesDone, p.BytesTotal, p.Files, p.FilesTotal
		if !announced {
			announced = true
			w.a.event(ctx, pod, v1.EventTypeNormal, "Restoring", fmt.Sprintf("Restoring persistentvolumeclaim %q from %s: %s in %d files, %s",
				claim, src.URL, byteSize(p.BytesTotal), p.FilesTotal, how))
		}
		w.setRestore(st)
		if now := w.a.cfg.Clock.Now(); now.Sub(lastWrite) >= restoreStatusInterval && !p.Done {
			lastWrite = now
			w.writeRestoreStatus(ctx)
		}
	}
	p, err := transfer.Restore(ctx, src, dir, stateFile, progress)
	if err != nil {
		st.Message = err.Error()
		w.setRestore(st)
		w.writeRestoreStatus(ctx)
		w.a.event(ctx, pod, v1.EventTypeWarning, "RestoreFailed", fmt.Sprintf("Restoring persistentvolumeclaim %q from %s stopped at %s of %s, to be resumed: %v",
			claim, src.URL, byteSize(p.BytesDone), byteSize(p.BytesTotal), err))
		return fmt.Errorf("agent: persistentvolumeclaim %q: restore: %w", claim, err)
	}
	st.Done, st.Message = true, ""
	b, err := json.Marshal(st)
	if err == nil {
		err = atomicfile.Write(doneFile, b, 0o600)
	}
	if err != nil {
		return fmt.Errorf("agent: persistentvolumeclaim %q: restore: mark done: %w", claim, err)
	}
	_ = os.Remove(stateFile)
	w.setRestore(st)
	w.a.event(ctx, pod, v1.EventTypeNormal, "Restored", fmt.Sprintf("Restored persistentvolumeclaim %q from %s: %s in %d files (%s transferred) in %s",
		claim, src.URL, byteSize(p.BytesTotal), p.FilesTotal, byteSize(p.Transferred), time.Since(started).Round(time.Millisecond)))
	return nil
}

// cancelWhenGoing cancels a restore when its pod is deleted, which the
// worker, busy with the copy, would otherwise see only after it.
func (w *podWorker) cancelWhenGoing(ctx context.Context, cancel context.CancelFunc) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		going := w.gone || w.pod == nil || w.pod.DeletionTimestamp != nil
		w.mu.Unlock()
		if going {
			cancel()
			return
		}
	}
}

// setRestore records how far the restore of one claim is, for the pod's
// status.
func (w *podWorker) setRestore(st v1.VolumeRestoreStatus) {
	for i := range w.restores {
		if w.restores[i].Claim == st.Claim {
			w.restores[i] = st
			return
		}
	}
	w.restores = append(w.restores, st)
	slices.SortFunc(w.restores, func(a, b v1.VolumeRestoreStatus) int { return cmp.Compare(a.Claim, b.Claim) })
}

// writeRestoreStatus writes the pod's status, with the restores, through
// the worker's own path (it runs on the worker's goroutine, so it does
// not race the worker's other writes), from the pod as last seen.
func (w *podWorker) writeRestoreStatus(ctx context.Context) {
	w.mu.Lock()
	pod := w.pod
	w.mu.Unlock()
	if pod == nil {
		return
	}
	if err := w.writeStatus(ctx, pod); err != nil && ctx.Err() == nil {
		w.a.log.Warn("cannot write pod status", "pod", v1.ObjectKey(pod), "err", err)
	}
}

// restoreStatuses are the restores for the pod's status: the worker's,
// and those the status already says are done (the worker of a restarted
// agent knows them once it has set the volumes up again).
func (w *podWorker) restoreStatuses(pod *v1.Pod) []v1.VolumeRestoreStatus {
	out := slices.Clone(w.restores)
	for _, st := range pod.Status.VolumeRestores {
		if st.Done && !slices.ContainsFunc(out, func(s v1.VolumeRestoreStatus) bool { return s.Claim == st.Claim }) {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b v1.VolumeRestoreStatus) int { return cmp.Compare(a.Claim, b.Claim) })
	return out
}

// byteSize prints a byte count for a person: 5.0 MiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
