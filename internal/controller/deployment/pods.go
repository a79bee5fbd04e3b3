package deployment

import (
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// hashAlphabet is the alphabet of Kubernetes' SafeEncodeString: no vowels
// (no words) and no look-alike characters.
const hashAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// maxGenerateNameLen leaves room for the API server's 5-character suffix
// within a 253-character DNS subdomain.
const maxGenerateNameLen = 253 - 5

// templateHash is the pod-template-hash of d's current template: FNV-32a
// of the template's JSON (and of the collision count, when set), written in
// hashAlphabet. It is at most 10 characters long and stable across
// restarts, since encoding/json sorts map keys.
func templateHash(d *v1.Deployment) string {
	b, err := json.Marshal(&d.Spec.Template)
	if err != nil {
		// A decoded template always encodes; fall back to hashing the
		// error so the result is still deterministic.
		b = []byte(err.Error())
	}
	h := fnv.New32a()
	h.Write(b)
	if n := d.Status.CollisionCount; n != nil {
		var buf [4]byte
		binary.LittleEndian.PutUint32(buf[:], uint32(*n))
		h.Write(buf[:])
	}
	digits := strconv.FormatUint(uint64(h.Sum32()), 10)
	out := make([]byte, len(digits))
	for i := range len(digits) {
		out[i] = hashAlphabet[int(digits[i])%len(hashAlphabet)]
	}
	return string(out)
}

// newPod builds a pod of d's current template: the template's metadata
// plus the hash label, a controller reference to d, and its spec.
func newPod(d *v1.Deployment, kind *v1.Kind, hash string) *v1.Pod {
	t := v1.Clone(d).Spec.Template
	labels := make(map[string]string, len(t.Labels)+1)
	for k, v := range t.Labels {
		labels[k] = v
	}
	labels[v1.LabelPodTemplateHash] = hash
	return &v1.Pod{
		ObjectMeta: v1.ObjectMeta{
			GenerateName:    generateName(d.Name, hash),
			Namespace:       d.Namespace,
			Labels:          labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []v1.OwnerReference{*v1.NewControllerRef(d, kind)},
		},
		Spec: t.Spec,
	}
}

// copyPod builds a pod like src (same template hash, labels and spec) but
// not yet placed: paused deployments scale an old template this way, since
// only its pods remember it.
func copyPod(d *v1.Deployment, kind *v1.Kind, src *v1.Pod) *v1.Pod {
	c := v1.Clone(src)
	c.Spec.NodeName = ""
	return &v1.Pod{
		ObjectMeta: v1.ObjectMeta{
			GenerateName:    generateName(d.Name, src.Labels[v1.LabelPodTemplateHash]),
			Namespace:       d.Namespace,
			Labels:          c.Labels,
			Annotations:     c.Annotations,
			OwnerReferences: []v1.OwnerReference{*v1.NewControllerRef(d, kind)},
		},
		Spec: c.Spec,
	}
}

// generateName is "<deployment>-<hash>-", the deployment's name shortened
// if the pod name would be too long.
func generateName(name, hash string) string {
	return truncate(name, maxGenerateNameLen-len(hash)-2) + "-" + hash + "-"
}

// truncate shortens s to at most n bytes without leaving a trailing dash
// or dot, which would make an invalid name once more is appended.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.TrimRight(s[:n], "-.")
}

// podSet is a deployment's pods sorted into the groups the rollout works
// on. Active pods are neither being deleted nor finished.
type podSet struct {
	hash        string
	updated     []*v1.Pod // active, of the current template
	old         []*v1.Pod // active, of another template
	terminating []*v1.Pod // deletionTimestamp set
	terminal    []*v1.Pod // Failed or Succeeded, not yet being deleted
}

// classify sorts a deployment's pods by state and template.
func classify(hash string, pods []*v1.Pod) podSet {
	ps := podSet{hash: hash}
	for _, p := range pods {
		switch {
		case p.DeletionTimestamp != nil:
			ps.terminating = append(ps.terminating, p)
		case v1.IsPodTerminal(p):
			ps.terminal = append(ps.terminal, p)
		case p.Labels[v1.LabelPodTemplateHash] == hash:
			ps.updated = append(ps.updated, p)
		default:
			ps.old = append(ps.old, p)
		}
	}
	return ps
}

// active is every active pod, updated first.
func (ps podSet) active() []*v1.Pod {
	return append(append([]*v1.Pod(nil), ps.updated...), ps.old...)
}

// oldRunning reports whether any pod of another template may still run:
// an active one, or one being deleted that has not finished.
func (ps podSet) oldRunning() bool {
	if len(ps.old) > 0 {
		return true
	}
	for _, p := range ps.terminating {
		if p.Labels[v1.LabelPodTemplateHash] != ps.hash && !v1.IsPodTerminal(p) {
			return true
		}
	}
	return false
}

// countAvailable counts the pods Ready for at least minReadySeconds.
func countAvailable(pods []*v1.Pod, minReadySeconds int32, now time.Time) int32 {
	n := int32(0)
	for _, p := range pods {
		if v1.IsPodAvailable(p, minReadySeconds, now) {
			n++
		}
	}
	return n
}

// countReady counts the Ready pods.
func countReady(pods []*v1.Pod) int32 {
	n := int32(0)
	for _, p := range pods {
		if v1.IsPodReady(p) {
			n++
		}
	}
	return n
}

// nextAvailable is how long until the first pod that is Ready but not yet
// available becomes available; zero if none is waiting.
func nextAvailable(pods []*v1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	if minReadySeconds == 0 {
		return 0
	}
	var next time.Duration
	for _, p := range pods {
		c := v1.GetPodCondition(&p.Status, v1.PodReady)
		if c == nil || c.Status != v1.ConditionTrue || c.LastTransitionTime == nil {
			continue
		}
		wait := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second).Sub(now)
		if wait > 0 && (next == 0 || wait < next) {
			next = wait
		}
	}
	return next
}

// fenceposts resolves a rolling update's maxSurge and maxUnavailable
// against replicas as Kubernetes does: surge rounds up, unavailability
// down, and if both come to zero one pod may be unavailable.
func fenceposts(d *v1.Deployment) (surge, unavailable int32) {
	// 25% is the API server's default; only objects built in memory lack
	// the fields.
	def := intstr.FromString("25%")
	ms, mu := &def, &def
	if r := d.Spec.Strategy.RollingUpdate; r != nil {
		if r.MaxSurge != nil {
			ms = r.MaxSurge
		}
		if r.MaxUnavailable != nil {
			mu = r.MaxUnavailable
		}
	}
	replicas := int(replicasOf(d))
	// Validation rejects malformed values, which then count as zero.
	s, _ := intstr.GetScaledValueFromIntOrPercent(ms, replicas, true)
	u, _ := intstr.GetScaledValueFromIntOrPercent(mu, replicas, false)
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u)
}

// maxUnavailable is how many pods may be unavailable for the deployment to
// count as Available: none under Recreate or at zero replicas.
func maxUnavailable(d *v1.Deployment) int32 {
	if d.Spec.Strategy.Type == v1.RecreateDeploymentStrategyType || replicasOf(d) == 0 {
		return 0
	}
	_, u := fenceposts(d)
	return min(u, replicasOf(d))
}

// replicasOf is the desired number of pods (1 when unset, as defaulted).
func replicasOf(d *v1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// rankForDeletion sorts pods so that the ones to delete first come first:
// unscheduled before scheduled, not Ready before Ready, another template
// before the current one, Ready for less time before longer, newer before
// older. Names break ties so the order is deterministic.
func rankForDeletion(pods []*v1.Pod, hash string) []*v1.Pod {
	out := append([]*v1.Pod(nil), pods...)
	sort.SliceStable(out, func(i, j int) bool { return deleteBefore(out[i], out[j], hash) })
	return out
}

func deleteBefore(a, b *v1.Pod, hash string) bool {
	if sa, sb := a.Spec.NodeName != "", b.Spec.NodeName != ""; sa != sb {
		return !sa
	}
	if ra, rb := v1.IsPodReady(a), v1.IsPodReady(b); ra != rb {
		return !ra
	}
	if ua, ub := a.Labels[v1.LabelPodTemplateHash] == hash, b.Labels[v1.LabelPodTemplateHash] == hash; ua != ub {
		return !ua
	}
	if ta, tb := readySince(a), readySince(b); !ta.Equal(tb) {
		return ta.After(tb)
	}
	if ca, cb := created(a), created(b); !ca.Equal(cb) {
		return ca.After(cb)
	}
	return a.Name < b.Name
}

// readySince is when the pod last became Ready (zero if it is not).
func readySince(p *v1.Pod) time.Time {
	c := v1.GetPodCondition(&p.Status, v1.PodReady)
	if c == nil || c.Status != v1.ConditionTrue || c.LastTransitionTime == nil {
		return time.Time{}
	}
	return c.LastTransitionTime.Time
}

func created(p *v1.Pod) time.Time {
	if p.CreationTimestamp == nil {
		return time.Time{}
	}
	return p.CreationTimestamp.Time
}
