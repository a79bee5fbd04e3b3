package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

func podRow(p *v1.Pod, now time.Time) []string {
	ready := 0
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
	}
	ip := p.Status.PodIP
	return []string{
		p.Name,
		fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers)),
		podStatus(p),
		podRestarts(p, now),
		age(p.CreationTimestamp, now),
		orNone(ip),
		orNone(p.Spec.NodeName),
	}
}

// podStatus is the STATUS column, reasoned as kubectl does: the phase,
// refined by the pod's reason, a failing init container, or the reason
// a container waits or ended.
func podStatus(p *v1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	reason := string(p.Status.Phase)
	if p.Status.Reason != "" {
		reason = p.Status.Reason
	}
	if r, ok := initStatus(p); ok {
		return r
	}
	running := false
	for i := len(p.Status.ContainerStatuses) - 1; i >= 0; i-- {
		st := p.Status.ContainerStatuses[i].State
		switch {
		case st.Waiting != nil && st.Waiting.Reason != "":
			reason = st.Waiting.Reason
		case st.Terminated != nil:
			reason = terminatedReason(st.Terminated, "")
		case st.Running != nil:
			running = true
		}
	}
	if reason == "Completed" && running {
		reason = string(v1.PodRunning)
	}
	if reason == "" {
		reason = string(v1.PodPending)
	}
	return reason
}

// initStatus is Init:<reason> or Init:i/n while init containers run.
func initStatus(p *v1.Pod) (string, bool) {
	n := len(p.Spec.InitContainers)
	for i, cs := range p.Status.InitContainerStatuses {
		st := cs.State
		switch {
		case st.Terminated != nil && st.Terminated.ExitCode == 0:
			continue
		case st.Terminated != nil:
			return terminatedReason(st.Terminated, "Init:"), true
		case st.Waiting != nil && st.Waiting.Reason != "" && st.Waiting.Reason != "PodInitializing":
			return "Init:" + st.Waiting.Reason, true
		default:
			return fmt.Sprintf("Init:%d/%d", i, n), true
		}
	}
	return "", false
}

func terminatedReason(t *v1.ContainerStateTerminated, prefix string) string {
	switch {
	case t.Reason != "":
		return prefix + t.Reason
	case t.Signal != 0:
		return fmt.Sprintf("%sSignal:%d", prefix, t.Signal)
	}
	return fmt.Sprintf("%sExitCode:%d", prefix, t.ExitCode)
}

// podRestarts is the restart count, with how long ago the last one was.
func podRestarts(p *v1.Pod, now time.Time) string {
	var n int32
	var last *v1.Time
	// Init containers' restarts count too, as in kubectl.
	for _, cs := range append(append([]v1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		n += cs.RestartCount
		if t := cs.LastState.Terminated; t != nil && t.FinishedAt != nil && (last == nil || t.FinishedAt.After(last.Time)) {
			last = t.FinishedAt
		}
	}
	if n > 0 && last != nil {
		return fmt.Sprintf("%d (%s ago)", n, age(last, now))
	}
	return itoa(n)
}

func nodeRow(n *v1.Node, now time.Time) []string {
	version := n.Status.NodeInfo.KennelVersion
	if version == "" {
		version = n.Status.NodeInfo.KubeletVersion
	}
	var ip string
	for _, a := range n.Status.Addresses {
		if a.Type == v1.NodeInternalIP {
			ip = a.Address
			break
		}
	}
	return []string{n.Name, nodeStatus(n), nodeRoles(n), age(n.CreationTimestamp, now), orNone(version),
		orNone(ip), orNone(n.Status.NodeInfo.OSImage), orNone(n.Status.NodeInfo.KernelVersion), orNone(n.Status.NodeInfo.CgroupVersion)}
}

// nodeStatus is Ready, NotReady or Unknown, plus SchedulingDisabled.
func nodeStatus(n *v1.Node) string {
	s := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type != v1.NodeReady {
			continue
		}
		switch c.Status {
		case v1.ConditionTrue:
			s = "Ready"
		case v1.ConditionFalse:
			s = "NotReady"
		}
	}
	if n.Spec.Unschedulable {
		s += ",SchedulingDisabled"
	}
	return s
}

// nodeRoles reads node-role.kubernetes.io/<role> labels.
func nodeRoles(n *v1.Node) string {
	var roles []string
	for k, v := range n.Labels {
		if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && r != "" {
			roles = append(roles, r)
		} else if k == "kubernetes.io/role" && v != "" {
			roles = append(roles, v)
		}
	}
	sort.Strings(roles)
	return joinOrNone(roles)
}

func serviceRow(s *v1.Service, now time.Time) []string {
	external := none
	switch {
	case s.Spec.Type == v1.ServiceTypeExternalName:
		external = s.Spec.ExternalName
	case len(s.Status.LoadBalancer.Ingress) > 0:
		var ips []string
		for _, in := range s.Status.LoadBalancer.Ingress {
			ips = append(ips, in.IP+in.Hostname)
		}
		external = strings.Join(ips, ",")
	case s.Spec.Type == v1.ServiceTypeLoadBalancer:
		external = "<pending>"
	}
	var ports []string
	for _, p := range s.Spec.Ports {
		if p.NodePort != 0 {
			ports = append(ports, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
		} else {
			ports = append(ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
	}
	return []string{s.Name, string(s.Spec.Type), orNone(s.Spec.ClusterIP), orNone(external), joinOrNone(ports),
		age(s.CreationTimestamp, now), labelString(s.Spec.Selector)}
}

// endpointsRow lists up to three addresses, as kubectl does.
func endpointsRow(e *v1.Endpoints, now time.Time) []string {
	var eps []string
	for _, ss := range e.Subsets {
		for _, a := range ss.Addresses {
			if len(ss.Ports) == 0 {
				eps = append(eps, a.IP)
			}
			for _, p := range ss.Ports {
				eps = append(eps, fmt.Sprintf("%s:%d", a.IP, p.Port))
			}
		}
	}
	s := joinOrNone(eps)
	if len(eps) > 3 {
		s = strings.Join(eps[:3], ",") + fmt.Sprintf(" + %d more...", len(eps)-3)
	}
	return []string{e.Name, s, age(e.CreationTimestamp, now)}
}

// petSetRow shows the revisions in CURRENT and UPDATED: during a rollout
// they differ, and -o wide counts the pets at each.
func petSetRow(s *v1.PetSet, now time.Time) []string {
	return []string{s.Name,
		fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, s.DesiredReplicas()),
		orNone(s.Status.CurrentRevision), orNone(s.Status.UpdateRevision), age(s.CreationTimestamp, now),
		orNone(s.Spec.ServiceName), itoa(s.Status.CurrentReplicas), itoa(s.Status.UpdatedReplicas)}
}

func deploymentRow(d *v1.Deployment, now time.Time) []string {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	var names, images []string
	for _, c := range d.Spec.Template.Spec.Containers {
		names = append(names, c.Name)
		images = append(images, containerImage(c))
	}
	sel := none
	if d.Spec.Selector != nil {
		if s, err := d.Spec.Selector.AsSelector(); err == nil {
			sel = orNone(s.String())
		}
	}
	return []string{d.Name, fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, want),
		itoa(d.Status.UpdatedReplicas), itoa(d.Status.AvailableReplicas), age(d.CreationTimestamp, now),
		joinOrNone(names), joinOrNone(images), sel}
}

// containerImage is the image, or with the process runtime the program.
func containerImage(c v1.Container) string {
	if c.Image != "" || len(c.Command) == 0 {
		return c.Image
	}
	return c.Command[0]
}

func pvcRow(c *v1.PersistentVolumeClaim, now time.Time) []string {
	capacity := ""
	if q, ok := c.Status.Capacity[v1.ResourceStorage]; ok {
		capacity = q.String()
	}
	class := "<unset>"
	if c.Spec.StorageClassName != nil {
		class = *c.Spec.StorageClassName
	}
	return []string{c.Name, string(c.Status.Phase), c.Spec.VolumeName, capacity, accessModes(c.Status.AccessModes),
		class, age(c.CreationTimestamp, now), volumeMode(c.Spec.VolumeMode)}
}

func pvRow(v *v1.PersistentVolume, now time.Time) []string {
	capacity := ""
	if q, ok := v.Spec.Capacity[v1.ResourceStorage]; ok {
		capacity = q.String()
	}
	claim := ""
	if r := v.Spec.ClaimRef; r != nil {
		claim = r.Namespace + "/" + r.Name
	}
	return []string{v.Name, capacity, accessModes(v.Spec.AccessModes), string(v.Spec.PersistentVolumeReclaimPolicy),
		string(v.Status.Phase), claim, v.Spec.StorageClassName, age(v.CreationTimestamp, now), volumeMode(v.Spec.VolumeMode)}
}

// accessModes abbreviates as kubectl does: RWO,ROX,RWX,RWOP.
func accessModes(modes []v1.PersistentVolumeAccessMode) string {
	abbrev := map[v1.PersistentVolumeAccessMode]string{
		v1.ReadWriteOnce: "RWO", v1.ReadOnlyMany: "ROX", v1.ReadWriteMany: "RWX", v1.ReadWriteOncePod: "RWOP",
	}
	var out []string
	for _, m := range modes {
		if a, ok := abbrev[m]; ok {
			out = append(out, a)
		} else {
			out = append(out, string(m))
		}
	}
	return strings.Join(out, ",")
}

func volumeMode(m *v1.PersistentVolumeMode) string {
	if m == nil {
		return string(v1.PersistentVolumeFilesystem)
	}
	return string(*m)
}

func storageClassRow(c *v1.StorageClass, now time.Time) []string {
	name := c.Name
	if c.Annotations[v1.AnnotationDefaultStorageClass] == "true" {
		name += " (default)"
	}
	reclaim, binding := string(v1.PersistentVolumeReclaimDelete), string(v1.VolumeBindingImmediate)
	if c.ReclaimPolicy != nil {
		reclaim = string(*c.ReclaimPolicy)
	}
	if c.VolumeBindingMode != nil {
		binding = string(*c.VolumeBindingMode)
	}
	expand := c.AllowVolumeExpansion != nil && *c.AllowVolumeExpansion
	return []string{name, c.Provisioner, reclaim, binding, fmt.Sprint(expand), age(c.CreationTimestamp, now)}
}

func namespaceRow(n *v1.Namespace, now time.Time) []string {
	return []string{n.Name, string(n.Status.Phase), age(n.CreationTimestamp, now)}
}

// eventLastSeen is the event's last timestamp, else its event time, else
// its creation.
func eventLastSeen(e *v1.Event) time.Time {
	switch {
	case e.LastTimestamp != nil && !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case e.EventTime != nil && !e.EventTime.IsZero():
		return e.EventTime.Time
	case e.CreationTimestamp != nil:
		return e.CreationTimestamp.Time
	}
	return time.Time{}
}

func eventRow(e *v1.Event, now time.Time) []string {
	last := eventLastSeen(e)
	lastSeen := "<unknown>"
	if !last.IsZero() {
		lastSeen = humanDuration(now.Sub(last))
	}
	obj := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
	count := e.Count
	if count == 0 {
		count = 1
	}
	return []string{lastSeen, e.Type, e.Reason, obj, e.Message,
		eventSource(e), age(e.FirstTimestamp, now), itoa(count), e.Name}
}

// eventSource is the reporting component, with its host when known.
func eventSource(e *v1.Event) string {
	c := e.Source.Component
	if c == "" {
		c = e.ReportingComponent
	}
	if e.Source.Host != "" {
		c += ", " + e.Source.Host
	}
	return c
}

func leaseRow(l *v1.Lease, now time.Time) []string {
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	return []string{l.Name, holder, age(l.CreationTimestamp, now)}
}

func configMapRow(c *v1.ConfigMap, now time.Time) []string {
	return []string{c.Name, itoa(len(c.Data) + len(c.BinaryData)), age(c.CreationTimestamp, now)}
}

func secretRow(s *v1.Secret, now time.Time) []string {
	return []string{s.Name, string(s.Type), itoa(len(s.Data)), age(s.CreationTimestamp, now)}
}

func controllerRevisionRow(r *v1.ControllerRevision, now time.Time) []string {
	return []string{r.Name, controllerOf(&r.ObjectMeta), itoa(r.Revision), age(r.CreationTimestamp, now)}
}

// controllerOf names the controlling owner as kind/name, or "<none>".
func controllerOf(m *v1.ObjectMeta) string {
	for _, o := range m.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			return strings.ToLower(o.Kind) + "/" + o.Name
		}
	}
	return none
}

func clusterRow(c *v1.Cluster, now time.Time) []string {
	ready := "Unknown"
	for _, cond := range c.Status.Conditions {
		if cond.Type == v1.ClusterReady {
			ready = string(cond.Status)
		}
	}
	return []string{c.Name, c.Spec.Region, ready, age(c.CreationTimestamp, now),
		joinOrNone(c.Spec.Zones), orNone(c.Spec.APIEndpoint)}
}

func migrationRow(m *v1.Migration, now time.Time) []string {
	progress := "-"
	if st := m.Status; st.BytesTotal > 0 {
		progress = fmt.Sprintf("%d%% of %s", 100*st.BytesDone/st.BytesTotal, humanBytes(st.BytesTotal))
	}
	pet := m.Status.Pet
	if pet == "" {
		pet = fmt.Sprintf("%s-%d", m.Spec.PetSet, m.Spec.Ordinal)
	}
	return []string{m.Name, pet, orNone(m.Status.From), m.Spec.To, orDash(string(m.Status.Phase)), progress,
		age(m.CreationTimestamp, now), m.Status.Message}
}
