package agent

import (
	"context"
	"os"
	"path/filepath"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/fence"
)

// startPodSync watches the pods bound to this node and gives each its own
// worker. The loop is level-triggered: every event, container exit and
// probe change wakes the pod's worker, which converges from what it reads
// then, whatever woke it.
func (a *Agent) startPodSync(ctx context.Context) {
	pods := client.For[*v1.Pod](a.cfg.Client, "")
	a.pods = client.NewInformer(pods, client.ListOptions{FieldSelector: "spec.nodeName=" + a.cfg.NodeName}, a.log)
	a.pods.AddHandler(client.HandlerFuncs{
		AddFunc:    func(obj any) { a.podChanged(ctx, obj.(*v1.Pod), false) },
		UpdateFunc: func(_, obj any) { a.podChanged(ctx, obj.(*v1.Pod), false) },
		DeleteFunc: func(obj any) { a.podChanged(ctx, obj.(*v1.Pod), true) },
	})
	a.wg.Go(func() { a.pods.Run(ctx) })
	a.wg.Go(func() {
		if !a.pods.WaitForSync(ctx) {
			return
		}
		// Sandboxes whose pod is gone from the API (deleted while the
		// agent was down) are torn down by a worker that has no pod.
		known := map[string]bool{}
		for _, p := range a.pods.List() {
			known[string(p.UID)] = true
		}
		for _, sb := range a.rt.Sandboxes() {
			if !known[sb.UID] {
				if a.sweepGone(ctx, sb.UID) {
					a.log.Info("removing the sandbox of a pod that no longer exists", "pod", sb.Namespace+"/"+sb.Name)
				}
				known[sb.UID] = true
			}
		}
		// Volumes (and their mounts) of pods gone while the agent was
		// down go the same way; so do node-wide volume mounts no pod
		// here uses.
		dirs, _ := os.ReadDir(filepath.Join(a.cfg.DataDir, "volumes"))
		for _, d := range dirs {
			if uid := d.Name(); uid != "local" && !known[uid] && a.sweepGone(ctx, uid) {
				a.log.Info("removing the volumes of a pod that no longer exists", "uid", uid)
			}
		}
		// So do the fence files of pods gone while the agent was down.
		uids, _ := fence.UIDs(a.fence.dir)
		for _, uid := range uids {
			if !known[uid] {
				a.sweepGone(ctx, uid)
			}
		}
		a.gcLocalMounts(ctx)
	})
}

// sweepGone has what the start-up sweep found of a pod that was not in
// the first list of pods (a sandbox, volumes, a fence file) torn down,
// unless a worker has it: a pod created since that list has a worker
// before it has any of those, and must not be taken for gone. It reports
// whether it tore anything down.
func (a *Agent) sweepGone(ctx context.Context, uid string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, running := a.workers[uid]; running {
		return false
	}
	a.startWorker(ctx, uid, nil, true)
	return true
}

func (a *Agent) podChanged(ctx context.Context, p *v1.Pod, deleted bool) {
	a.worker(ctx, string(p.UID), p, deleted)
}

// worker hands the pod as now seen (nil: only known to be gone) to its
// worker, starting one if there is none. A new worker is given the pod
// before it starts: one that ran first would take the pod for gone and
// tear down what it has (its volumes, its processes).
func (a *Agent) worker(ctx context.Context, uid string, p *v1.Pod, deleted bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w, ok := a.workers[uid]; ok {
		w.set(p, deleted)
		return
	}
	a.startWorker(ctx, uid, p, deleted)
}

// startWorker starts the worker of a pod that has none; a.mu is held.
func (a *Agent) startWorker(ctx context.Context, uid string, p *v1.Pod, deleted bool) {
	w := newPodWorker(a, uid)
	a.workers[uid] = w
	w.set(p, deleted)
	a.wg.Go(func() { w.run(ctx) })
}

// workerDone forgets a worker whose pod is gone for good.
func (a *Agent) workerDone(uid string) {
	a.mu.Lock()
	delete(a.workers, uid)
	a.mu.Unlock()
}

// wake makes the pod's worker converge again.
func (a *Agent) wake(uid string) {
	a.mu.Lock()
	w := a.workers[uid]
	a.mu.Unlock()
	if w != nil {
		w.wake()
	}
}

// podByName finds a pod bound to this node and its worker, for logs and
// exec.
func (a *Agent) podByName(namespace, name string) (*v1.Pod, bool) {
	if a.pods == nil {
		return nil, false
	}
	return a.pods.Get(namespace + "/" + name)
}

// gcLocalMounts unmounts the node-wide mounts of loop-backed local
// volumes that no pod bound to this node uses: left by pods deleted while
// the agent was down. (The loop device goes with its last mount.)
func (a *Agent) gcLocalMounts(ctx context.Context) {
	dirs, err := os.ReadDir(filepath.Join(a.cfg.DataDir, "volumes", "local"))
	if err != nil || len(dirs) == 0 {
		return
	}
	used := map[string]bool{}
	for _, p := range a.pods.List() {
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim == nil {
				continue
			}
			c, err := client.For[*v1.PersistentVolumeClaim](a.cfg.Client, p.Namespace).Get(ctx, v.PersistentVolumeClaim.ClaimName)
			if err != nil && !v1.IsNotFound(err) {
				return // unsure: keep everything
			}
			if err == nil {
				used[c.Spec.VolumeName] = true
			}
		}
	}
	for _, d := range dirs {
		a.gcLocalMount(d.Name(), used[d.Name()])
	}
}

func (a *Agent) gcLocalMount(pv string, used bool) {
	l := a.vols.lock(pv)
	defer l.Unlock()
	if used || a.vols.used(pv) {
		return
	}
	dir := a.localMountDir(pv)
	if err := unmountAll(dir); err != nil {
		a.log.Warn("cannot unmount an unused local volume", "volume", pv, "err", err)
		return
	}
	_ = os.Remove(dir)
	a.log.Info("unmounted a local volume no pod uses", "volume", pv)
}
