package scheduler

import (
	"sort"
	"sync"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// cache is what the scheduler knows of each node: the node and the pods
// counting against it, as NodeInfos. It is fed by the node and pod
// informers and by the scheduler itself, which assumes a pod onto its node
// the moment it decides, before the binding is written, so that the next
// decision counts it; the informer's copy of the bound pod later confirms
// the assumption, and a failed binding forgets it.
//
// NodeInfos are copy-on-write: a change replaces a node's NodeInfo, never
// changes it, so a snapshot is a list of pointers that plugins read while
// the informers keep changing the cache.
type cache struct {
	mu    sync.Mutex
	nodes map[string]*framework.NodeInfo // by node name; Node nil while only pods name it
	pods  map[string]cachedPod           // by "namespace/name"
	names []string                       // sorted names of nodes with a Node; nil to rebuild
	list  []*framework.NodeInfo          // their NodeInfos, in names' order
	pos   map[string]int                 // index in names and list
}

// cachedPod is a pod counting against a node.
type cachedPod struct {
	pod     *v1.Pod
	node    string
	assumed bool // placed by the scheduler; the informer has not shown it bound yet
}

func newCache() *cache {
	return &cache{nodes: map[string]*framework.NodeInfo{}, pods: map[string]cachedPod{}}
}

// setNode adds or updates a node.
func (c *cache) setNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.change(node.Name, func(n *framework.NodeInfo) {
		if n.Node == nil {
			c.names = nil
		}
		n.SetNode(node)
	})
}

// removeNode forgets a node; pods still bound to it keep counting in case
// it comes back.
func (c *cache) removeNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.nodes[name]; !ok {
		return
	}
	c.names = nil
	c.change(name, func(n *framework.NodeInfo) { n.SetNode(nil) })
}

// setPod records a pod the informer shows bound to a node; it confirms
// the pod's assumption, if any.
func (c *cache) setPod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(v1.ObjectKey(pod))
	c.addLocked(pod, pod.Spec.NodeName, false)
}

// removePod stops counting a pod, assumed or bound.
func (c *cache) removePod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(v1.ObjectKey(pod))
}

// assume counts pod against node before its binding is written.
func (c *cache) assume(pod *v1.Pod, node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := v1.ObjectKey(pod)
	c.removeLocked(key)
	p := *pod // shallow: only NodeName differs, and nothing is changed in place
	p.Spec.NodeName = node
	c.addLocked(&p, node, true)
}

// forget undoes assume after a failed binding; a pod the informer has
// meanwhile shown bound is kept.
func (c *cache) forget(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := v1.ObjectKey(pod)
	if cp, ok := c.pods[key]; ok && cp.assumed {
		c.removeLocked(key)
	}
}

// isAssumed reports whether pod (this pod, by UID) is assumed onto a node
// and waits for the informer to show its binding.
func (c *cache) isAssumed(pod *v1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp, ok := c.pods[v1.ObjectKey(pod)]
	return ok && cp.assumed && cp.pod.UID == pod.UID
}

// snapshot returns the known nodes sorted by name. The NodeInfos are
// shared and must not be changed.
func (c *cache) snapshot() []*framework.NodeInfo { return c.snapshotInto(nil) }

// snapshotInto is snapshot written into buf (grown when too small), so
// that a caller can recycle the 8 bytes per node a snapshot takes.
func (c *cache) snapshotInto(buf []*framework.NodeInfo) []*framework.NodeInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.names == nil {
		c.names = []string{}
		for name, n := range c.nodes {
			if n.Node != nil {
				c.names = append(c.names, name)
			}
		}
		sort.Strings(c.names)
		c.list = make([]*framework.NodeInfo, len(c.names))
		c.pos = make(map[string]int, len(c.names))
		for i, name := range c.names {
			c.list[i], c.pos[name] = c.nodes[name], i
		}
	}
	// A copy: the cache replaces entries of list as nodes change, while
	// the cycle that took this snapshot reads it.
	return append(buf[:0], c.list...)
}

func (c *cache) addLocked(pod *v1.Pod, node string, assumed bool) {
	c.pods[v1.ObjectKey(pod)] = cachedPod{pod: pod, node: node, assumed: assumed}
	c.change(node, func(n *framework.NodeInfo) { n.AddPod(pod) })
}

func (c *cache) removeLocked(key string) {
	cp, ok := c.pods[key]
	if !ok {
		return
	}
	delete(c.pods, key)
	c.change(cp.node, func(n *framework.NodeInfo) { n.RemovePod(cp.pod) })
}

// change replaces node's NodeInfo by a changed copy, and drops it once it
// has neither node nor pods. The caller holds mu.
func (c *cache) change(node string, f func(*framework.NodeInfo)) {
	var n *framework.NodeInfo
	if old, ok := c.nodes[node]; ok {
		n = old.Clone()
	} else {
		n = framework.NewNodeInfo(nil)
	}
	f(n)
	if n.Node == nil && len(n.Pods) == 0 {
		delete(c.nodes, node)
		return
	}
	c.nodes[node] = n
	if i, ok := c.pos[node]; ok && c.names != nil {
		c.list[i] = n
	}
}
