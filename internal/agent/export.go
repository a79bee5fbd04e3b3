package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/volume/transfer"
)

// The export of a stopped pet's volume to another cluster's agent
// (AnnotationExportTokenSHA256): GET /volumes/{namespace}/{claim}/manifest
// and /file, served by transfer.Handler from the volume's root. The
// caller is authenticated by the bearer token whose hash the claim
// carries, not by a client certificate; the volume must be on this node
// and no pod here may use the claim, so its files do not change under
// the copy.

// exportError is a refusal with its HTTP status.
type exportError struct {
	code int
	msg  string
}

func (e *exportError) Error() string { return e.msg }

func refuse(code int, format string, args ...any) error {
	return &exportError{code: code, msg: "agent: " + fmt.Sprintf(format, args...)}
}

func (s *server) exportVolume(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("namespace"), r.PathValue("claim")
	root, tokenSHA, release, err := s.exportRoot(r, ns, name)
	if err != nil {
		code := http.StatusInternalServerError
		var ee *exportError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", "Bearer")
		}
		http.Error(w, err.Error(), code)
		return
	}
	defer release()
	(&transfer.Handler{Root: root, TokenSHA256: tokenSHA, Logger: s.a.log}).ServeHTTP(w, r)
}

// exportRoot checks that the request may read the claim's volume and
// finds the directory to serve; release ends the use of it.
func (s *server) exportRoot(r *http.Request, ns, name string) (root, tokenSHA string, release func(), err error) {
	ctx := r.Context()
	c, err := client.For[*v1.PersistentVolumeClaim](s.a.cfg.Client, ns).Get(ctx, name)
	if v1.IsNotFound(err) {
		return "", "", nil, refuse(http.StatusNotFound, "persistentvolumeclaim %s/%s not found", ns, name)
	}
	if err != nil {
		return "", "", nil, refuse(http.StatusServiceUnavailable, "persistentvolumeclaim %s/%s: %v", ns, name, err)
	}
	tokenSHA = c.Annotations[v1.AnnotationExportTokenSHA256]
	if tokenSHA == "" {
		return "", "", nil, refuse(http.StatusForbidden, "persistentvolumeclaim %s/%s is not exported (no %s annotation)", ns, name, v1.AnnotationExportTokenSHA256)
	}
	if !transfer.Authorized(r, tokenSHA) {
		return "", "", nil, refuse(http.StatusUnauthorized, "the bearer token is not the one persistentvolumeclaim %s/%s is exported to", ns, name)
	}
	pv, err := s.exportedVolume(ctx, c)
	if err != nil {
		return "", "", nil, err
	}
	if pod, err := s.a.claimUser(ns, name); err != nil {
		return "", "", nil, err
	} else if pod != "" {
		return "", "", nil, refuse(http.StatusConflict, "persistentvolumeclaim %s/%s is in use by pod %s on node %s: the pet must be stopped before its volume is exported", ns, name, pod, s.a.cfg.NodeName)
	}
	switch l := pv.Spec.Local; {
	case l != nil && l.FSType != nil && *l.FSType != "":
		return s.exports.image(ctx, pv, *l.FSType, tokenSHA)
	case l != nil:
		if st, err := os.Stat(l.Path); err != nil || !st.IsDir() {
			return "", "", nil, refuse(http.StatusNotFound, "persistentvolume %q: local path %s is not a directory on node %s", pv.Name, l.Path, s.a.cfg.NodeName)
		}
		return l.Path, tokenSHA, func() {}, nil
	}
	return "", "", nil, refuse(http.StatusBadRequest, "persistentvolume %q: only local volumes can be exported", pv.Name)
}

// exportedVolume is the volume bound to the claim, which must be on this
// node.
func (s *server) exportedVolume(ctx context.Context, c *v1.PersistentVolumeClaim) (*v1.PersistentVolume, error) {
	key := c.Namespace + "/" + c.Name
	if c.Status.Phase != v1.ClaimBound || c.Spec.VolumeName == "" {
		return nil, refuse(http.StatusConflict, "persistentvolumeclaim %s is not bound", key)
	}
	pv, err := client.For[*v1.PersistentVolume](s.a.cfg.Client, "").Get(ctx, c.Spec.VolumeName)
	if v1.IsNotFound(err) {
		return nil, refuse(http.StatusNotFound, "persistentvolumeclaim %s: persistentvolume %q not found", key, c.Spec.VolumeName)
	}
	if err != nil {
		return nil, refuse(http.StatusServiceUnavailable, "persistentvolume %q: %v", c.Spec.VolumeName, err)
	}
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Namespace != c.Namespace || ref.Name != c.Name {
		return nil, refuse(http.StatusConflict, "persistentvolume %q is not bound to persistentvolumeclaim %s", pv.Name, key)
	}
	node, err := client.For[*v1.Node](s.a.cfg.Client, "").Get(ctx, s.a.cfg.NodeName)
	if err != nil {
		return nil, refuse(http.StatusServiceUnavailable, "node %s: %v", s.a.cfg.NodeName, err)
	}
	if pv.Spec.NodeAffinity == nil || !pv.Spec.NodeAffinity.Admits(node) {
		return nil, refuse(http.StatusNotFound, "persistentvolume %q is not on node %s", pv.Name, s.a.cfg.NodeName)
	}
	return pv, nil
}

// claimUser names a pod on this node that uses the claim — one the API
// has, or one the agent still tears down — or "" when none does.
func (a *Agent) claimUser(ns, claim string) (string, error) {
	if a.pods == nil || !a.pods.HasSynced() {
		return "", refuse(http.StatusServiceUnavailable, "the agent has not yet listed the pods of node %s", a.cfg.NodeName)
	}
	uses := func(p *v1.Pod) bool {
		for _, v := range p.Spec.Volumes {
			if p.Namespace == ns && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
				return true
			}
		}
		return false
	}
	for _, p := range a.pods.List() {
		if uses(p) {
			return p.Name, nil
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range a.workers {
		w.mu.Lock()
		p := w.pod
		w.mu.Unlock()
		if p != nil && uses(p) {
			return p.Name, nil
		}
	}
	return "", nil
}

// exportIdle is how long an export's temporary mount outlives its last
// request.
const exportIdle = 30 * time.Second

// exports keeps the loop-backed volumes mounted for an export. Such a
// volume is mounted at its node-wide directory, as for a pod, with a
// user of its own ("export-<pv>", recorded like a pod's so that an agent
// restarted meanwhile unmounts it); it is unmounted once no request has
// used it for exportIdle (unless a pod uses it by then).
type exports struct {
	a      *Agent
	mu     sync.Mutex
	idle   time.Duration
	mounts map[string]*exportMount // by PV name
}

type exportMount struct {
	refs  int
	rec   *volumeRecord
	timer *time.Timer
}

func newExports(a *Agent) *exports {
	return &exports{a: a, idle: exportIdle, mounts: map[string]*exportMount{}}
}

// setIdle changes how long a mount outlives its last request (tests).
func (e *exports) setIdle(d time.Duration) {
	e.mu.Lock()
	e.idle = d
	e.mu.Unlock()
}

// exportUser is the volume user an export of pv counts as.
func exportUser(pv string) string { return "export-" + pv }

// image mounts the loop-backed volume, or joins the export that has it
// mounted.
func (e *exports) image(ctx context.Context, pv *v1.PersistentVolume, fsType, tokenSHA string) (string, string, func(), error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.mounts[pv.Name]
	if m == nil {
		out, err := e.a.setUpLocalImage(ctx, pv, fsType, exportUser(pv.Name), "export")
		if err != nil {
			return "", "", nil, refuse(http.StatusServiceUnavailable, "persistentvolume %q: mount for the export: %v", pv.Name, err)
		}
		m = &exportMount{rec: out.record}
		e.mounts[pv.Name] = m
	}
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	m.refs++
	release := func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if m.refs--; m.refs == 0 {
			m.timer = time.AfterFunc(e.idle, func() { e.end(pv.Name, m) })
		}
	}
	return m.rec.Dir, tokenSHA, release, nil
}

// end unmounts an export's volume (unless a pod uses it) once no request
// uses it.
func (e *exports) end(pv string, m *exportMount) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mounts[pv] != m || m.refs > 0 {
		return
	}
	uid := exportUser(pv)
	if err := e.a.tearDownRecorded(context.Background(), uid, "export", *m.rec); err != nil {
		e.a.log.Warn("cannot unmount an exported volume", "volume", pv, "err", err)
		m.timer = time.AfterFunc(e.idle, func() { e.end(pv, m) })
		return
	}
	_ = os.RemoveAll(filepath.Dir(e.a.volumeDir(uid, "export")))
	delete(e.mounts, pv)
}

// close stops the idle timers; the mounts stay, and the next agent
// unmounts them with the volumes of pods that are gone.
func (e *exports) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.mounts {
		if m.timer != nil {
			m.timer.Stop()
		}
	}
}
