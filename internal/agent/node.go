package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	goruntime "runtime"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/version"
)

// register creates or refreshes the Node and returns its pod range,
// waiting for the control plane to assign one when neither the flag nor
// the Node has it.
func (a *Agent) register(ctx context.Context) (string, error) {
	nodes := client.For[*v1.Node](a.cfg.Client, "")
	want := a.nodeObject()
	n, err := nodes.Create(ctx, want)
	switch {
	case v1.IsAlreadyExists(err):
		n, err = a.refreshNode(ctx, want)
	case err != nil:
		err = fmt.Errorf("agent: register node %s: %w", a.cfg.NodeName, err)
	}
	if err != nil {
		return "", err
	}
	if err := a.postStatus(ctx, n); err != nil {
		return "", err
	}
	if n.Spec.PodCIDR != "" {
		return n.Spec.PodCIDR, nil
	}
	a.log.Info("waiting for the control plane to assign a pod range")
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("agent: node %s got no pod range: %w", a.cfg.NodeName, ctx.Err())
		case <-t.C:
		}
		if n, err := nodes.Get(ctx, a.cfg.NodeName); err == nil && n.Spec.PodCIDR != "" {
			return n.Spec.PodCIDR, nil
		}
	}
}

// nodeObject is the Node as this agent describes it.
func (a *Agent) nodeObject() *v1.Node {
	labels := map[string]string{
		v1.LabelHostname:      a.cfg.NodeName,
		v1.LabelOS:            goruntime.GOOS,
		v1.LabelArch:          goruntime.GOARCH,
		v1.LabelRuntimeImages: fmt.Sprint(a.rt.SupportsImages()),
	}
	for k, v := range a.cfg.Labels {
		labels[k] = v
	}
	n := &v1.Node{ObjectMeta: v1.ObjectMeta{Name: a.cfg.NodeName, Labels: labels,
		Annotations: map[string]string{v1.AnnotationAgentCertSHA256: a.srv.fingerprint}}}
	if a.cfg.PodCIDR != "" {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = a.cfg.PodCIDR, []string{a.cfg.PodCIDR}
	}
	return n
}

// refreshNode merges this agent's labels, annotation and (when the Node
// has none) pod range into an existing Node, leaving what others set —
// taints, cordon, other labels — alone.
func (a *Agent) refreshNode(ctx context.Context, want *v1.Node) (*v1.Node, error) {
	patch := map[string]any{"metadata": map[string]any{"labels": want.Labels, "annotations": want.Annotations}}
	nodes := client.For[*v1.Node](a.cfg.Client, "")
	cur, err := nodes.Get(ctx, a.cfg.NodeName)
	if err != nil {
		return nil, fmt.Errorf("agent: read node %s: %w", a.cfg.NodeName, err)
	}
	if cur.Spec.PodCIDR == "" && want.Spec.PodCIDR != "" {
		patch["spec"] = map[string]any{"podCIDR": want.Spec.PodCIDR, "podCIDRs": want.Spec.PodCIDRs}
	} else if cur.Spec.PodCIDR != "" && want.Spec.PodCIDR != "" && cur.Spec.PodCIDR != want.Spec.PodCIDR {
		return nil, fmt.Errorf("agent: node %s already has pod range %s, not %s: a node's range never changes", a.cfg.NodeName, cur.Spec.PodCIDR, want.Spec.PodCIDR)
	}
	b, _ := json.Marshal(patch)
	n, err := nodes.Patch(ctx, a.cfg.NodeName, b)
	if err != nil {
		return nil, fmt.Errorf("agent: update node %s: %w", a.cfg.NodeName, err)
	}
	return n, nil
}

// postStatus writes the node's status: capacity, addresses, info, the
// agent's endpoint and Ready=True with a fresh heartbeat.
func (a *Agent) postStatus(ctx context.Context, n *v1.Node) error {
	n = v1.Clone(n)
	capacity := a.capacity()
	n.Status.Capacity, n.Status.Allocatable = capacity, capacity
	host, _ := os.Hostname()
	n.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: a.cfg.NodeIP}, {Type: v1.NodeHostName, Address: host}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(a.srv.port())
	n.Status.NodeInfo = v1.NodeSystemInfo{OperatingSystem: goruntime.GOOS, Architecture: goruntime.GOARCH,
		KernelVersion: kernelVersion(), ContainerRuntimeVersion: a.rt.Name(), KubeletVersion: version.Get(),
		KennelVersion: version.Get(), CgroupVersion: a.cgroupVersion(), BootID: readTrim("/proc/sys/kernel/random/boot_id"),
		MachineID: readTrim("/etc/machine-id")}
	n.Status.Storage = a.cfg.Storage
	if a.prov != nil {
		n.Status.Storage = a.prov.Reservations()
	}
	n.Status.Network = a.cfg.Network
	now := v1.NewTime(a.cfg.Clock.Now())
	ready := v1.NodeCondition{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: v1.NodeReasonAgentReady,
		Message: "Kennel agent is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}
	found := false
	for i, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			if c.Status == v1.ConditionTrue {
				ready.LastTransitionTime = c.LastTransitionTime
			}
			n.Status.Conditions[i], found = ready, true
		}
	}
	if !found {
		n.Status.Conditions = append(n.Status.Conditions, ready)
	}
	nodes := client.For[*v1.Node](a.cfg.Client, "")
	_, err := nodes.UpdateStatus(ctx, n)
	if v1.IsConflict(err) {
		if n, err = nodes.Get(ctx, a.cfg.NodeName); err == nil {
			return a.postStatus(ctx, n)
		}
	}
	if err != nil {
		return fmt.Errorf("agent: post node status: %w", err)
	}
	return nil
}

// heartbeat renews the node's Lease and, less often or whenever the node
// is seen not Ready, its status.
func (a *Agent) heartbeat(ctx context.Context) {
	lastStatus := a.cfg.Clock.Now()
	for {
		if err := a.renewLease(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("cannot renew node lease", "err", err)
		}
		nodes := client.For[*v1.Node](a.cfg.Client, "")
		if n, err := nodes.Get(ctx, a.cfg.NodeName); err == nil {
			if !nodeReady(n) || a.cfg.Clock.Now().Sub(lastStatus) >= a.cfg.StatusInterval || a.reservationsChanged(n) {
				if err := a.postStatus(ctx, n); err != nil && ctx.Err() == nil {
					a.log.Warn("cannot post node status", "err", err)
				} else {
					lastStatus = a.cfg.Clock.Now()
				}
			}
		}
		t := a.cfg.Clock.NewTimer(a.cfg.LeaseRenewInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

func nodeReady(n *v1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// renewLease creates or renews kennel-node-lease/<node>.
func (a *Agent) renewLease(ctx context.Context) error {
	leases := client.For[*v1.Lease](a.cfg.Client, v1.NamespaceLeases)
	now := &v1.MicroTime{Time: a.cfg.Clock.Now().UTC().Truncate(time.Microsecond)}
	holder, dur := a.cfg.NodeName, int32(v1.NodeLeaseDurationSeconds)
	l, err := leases.Get(ctx, a.cfg.NodeName)
	if v1.IsNotFound(err) {
		_, err = leases.Create(ctx, &v1.Lease{ObjectMeta: v1.ObjectMeta{Name: a.cfg.NodeName, Namespace: v1.NamespaceLeases},
			Spec: v1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, AcquireTime: now, RenewTime: now}})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &holder, &dur, now
	_, err = leases.Update(ctx, l)
	return err
}

func kernelVersion() string { return readTrim("/proc/sys/kernel/osrelease") }

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return string(b)
}

// reservationsChanged reports whether what volumes reserve of the node's
// devices differs from what its status says, so users and the scheduler
// see a new volume's reservation within a lease renewal, not a status
// interval.
func (a *Agent) reservationsChanged(n *v1.Node) bool {
	if a.prov == nil {
		return false
	}
	now := a.prov.Reservations()
	if len(now) != len(n.Status.Storage) {
		return true
	}
	for i, d := range now {
		old := n.Status.Storage[i].Reserved
		if old == nil || d.Reserved == nil || old.Volumes != d.Reserved.Volumes || old.Capacity.Cmp(d.Reserved.Capacity) != 0 ||
			old.IOPS.Cmp(d.Reserved.IOPS) != 0 || old.Bandwidth.Cmp(d.Reserved.Bandwidth) != 0 {
			return true
		}
	}
	return false
}
