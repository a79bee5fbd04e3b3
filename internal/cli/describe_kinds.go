package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// describer writes what matters about one kind, after the metadata.
type describer func(d *descWriter, o v1.Object, now time.Time)

// describers are the kinds with their own description, by resource; the
// others print their spec and status as YAML.
func describers() map[string]describer {
	return map[string]describer{
		"pods":    describeAs(describePod),
		"petsets": describeAs(describePetSet),
		"nodes":   describeAs(describeNode),
	}
}

func describeAs[T v1.Object](f func(*descWriter, T, time.Time)) describer {
	return func(d *descWriter, o v1.Object, now time.Time) {
		if t, ok := o.(T); ok {
			f(d, t, now)
		} else {
			describeFields(d, o)
		}
	}
}

func describePod(d *descWriter, p *v1.Pod, now time.Time) {
	d.field(0, "Node", orNone(p.Spec.NodeName))
	d.field(0, "IP", orNone(p.Status.PodIP))
	d.field(0, "Status", podStatus(p))
	d.field(0, "Phase", orNone(string(p.Status.Phase)))
	if p.Status.Reason != "" {
		d.field(0, "Reason", p.Status.Reason)
	}
	if p.Status.Message != "" {
		d.field(0, "Message", p.Status.Message)
	}
	d.field(0, "Start Time", timeAndAge(p.Status.StartTime, now))
	if p.Status.QOSClass != "" {
		d.field(0, "QoS Class", string(p.Status.QOSClass))
	}
	if len(p.Status.Conditions) == 0 {
		d.field(0, "Conditions", none)
	} else {
		d.line(0, "Conditions:")
		var rows [][]string
		for _, c := range p.Status.Conditions {
			rows = append(rows, []string{string(c.Type), string(c.Status), c.Reason, c.Message})
		}
		d.table(1, []string{"Type", "Status", "Reason", "Message"}, rows)
	}
	statuses := map[string]v1.ContainerStatus{}
	for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
		statuses[cs.Name] = cs
	}
	if len(p.Spec.InitContainers) > 0 {
		d.line(0, "Init Containers:")
		for _, c := range p.Spec.InitContainers {
			cs := statuses[c.Name]
			describeContainer(d, c, &cs, now)
		}
	}
	d.line(0, "Containers:")
	for _, c := range p.Spec.Containers {
		cs := statuses[c.Name]
		describeContainer(d, c, &cs, now)
	}
	describeVolumes(d, p.Spec.Volumes)
}

// describeContainer writes a container, with its state unless cs is nil
// (a template).
func describeContainer(d *descWriter, c v1.Container, cs *v1.ContainerStatus, now time.Time) {
	d.line(1, "%s:", c.Name)
	if c.Image != "" {
		d.field(2, "Image", c.Image)
	}
	if len(c.Command)+len(c.Args) > 0 {
		d.field(2, "Command", strings.Join(append(append([]string{}, c.Command...), c.Args...), " "))
	}
	var ports []string
	for _, p := range c.Ports {
		ports = append(ports, fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol))
	}
	if len(ports) > 0 {
		d.field(2, "Ports", strings.Join(ports, ", "))
	}
	if cs != nil {
		d.field(2, "State", containerState(cs.State, now))
		if cs.LastState != (v1.ContainerState{}) {
			d.field(2, "Last State", containerState(cs.LastState, now))
		}
		d.field(2, "Ready", fmt.Sprint(cs.Ready))
		d.field(2, "Restart Count", itoa(cs.RestartCount))
	}
	if len(c.Resources.Requests) > 0 {
		d.field(2, "Requests", resourceString(c.Resources.Requests))
	}
	if len(c.Resources.Limits) > 0 {
		d.field(2, "Limits", resourceString(c.Resources.Limits))
	}
	var mounts []string
	for _, m := range c.VolumeMounts {
		s := m.MountPath + " from " + m.Name
		if m.ReadOnly {
			s += " (ro)"
		}
		mounts = append(mounts, s)
	}
	d.multi(2, "Mounts", mounts)
}

// containerState is "Running since …", "Waiting: Reason (message)" or
// "Terminated: Reason, exit code N".
func containerState(s v1.ContainerState, now time.Time) string {
	switch {
	case s.Running != nil:
		return "Running since " + timeAndAge(s.Running.StartedAt, now)
	case s.Waiting != nil:
		out := "Waiting"
		if s.Waiting.Reason != "" {
			out += ": " + s.Waiting.Reason
		}
		if s.Waiting.Message != "" {
			out += " (" + s.Waiting.Message + ")"
		}
		return out
	case s.Terminated != nil:
		t := s.Terminated
		out := fmt.Sprintf("Terminated: %s, exit code %d", orNone(t.Reason), t.ExitCode)
		if t.Signal != 0 {
			out += fmt.Sprintf(", signal %d", t.Signal)
		}
		if t.FinishedAt != nil {
			out += ", finished " + age(t.FinishedAt, now) + " ago"
		}
		return out
	}
	return "Waiting"
}

func resourceString(r v1.ResourceList) string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		q := r[k]
		parts[i] = k + "=" + q.String()
	}
	return strings.Join(parts, ", ")
}

func describeVolumes(d *descWriter, vols []v1.Volume) {
	if len(vols) == 0 {
		d.field(0, "Volumes", none)
		return
	}
	d.line(0, "Volumes:")
	for _, v := range vols {
		d.line(1, "%s:", v.Name)
		src := v.VolumeSource
		switch {
		case src.PersistentVolumeClaim != nil:
			d.field(2, "Type", "PersistentVolumeClaim ("+src.PersistentVolumeClaim.ClaimName+")")
		case src.EmptyDir != nil:
			d.field(2, "Type", "EmptyDir")
		case src.HostPath != nil:
			d.field(2, "Type", "HostPath ("+src.HostPath.Path+")")
		case src.ConfigMap != nil:
			d.field(2, "Type", "ConfigMap ("+src.ConfigMap.Name+")")
		case src.Secret != nil:
			d.field(2, "Type", "Secret ("+src.Secret.SecretName+")")
		case src.FlexVolume != nil:
			d.field(2, "Type", "FlexVolume ("+src.FlexVolume.Driver+")")
		default:
			d.field(2, "Type", "<unknown>")
		}
	}
}

func describePetSet(d *descWriter, s *v1.PetSet, _ time.Time) {
	st := s.Status
	d.field(0, "Replicas", fmt.Sprintf("%d desired | %d total | %d ready | %d current | %d updated | %d available",
		s.DesiredReplicas(), st.Replicas, st.ReadyReplicas, st.CurrentReplicas, st.UpdatedReplicas, st.AvailableReplicas))
	sel := none
	if s.Spec.Selector != nil {
		if ls, err := s.Spec.Selector.AsSelector(); err == nil {
			sel = orNone(ls.String())
		}
	}
	d.field(0, "Selector", sel)
	d.field(0, "Service", orNone(s.Spec.ServiceName))
	d.field(0, "Pod Management", string(s.Spec.PodManagementPolicy))
	strategy := string(s.Spec.UpdateStrategy.Type)
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		strategy += fmt.Sprintf(" (partition %d)", *ru.Partition)
	}
	d.field(0, "Update Strategy", strategy)
	d.field(0, "Current Revision", orNone(st.CurrentRevision))
	d.field(0, "Update Revision", orNone(st.UpdateRevision))
	d.field(0, "Generation", fmt.Sprintf("%d (observed %d)", s.Generation, st.ObservedGeneration))
	var claims []string
	for _, c := range s.Spec.VolumeClaimTemplates {
		q := c.Spec.Resources.Requests[v1.ResourceStorage]
		claims = append(claims, fmt.Sprintf("%s (%s, %s)", c.Name, q.String(), accessModes(c.Spec.AccessModes)))
	}
	d.multi(0, "Volume Claims", claims)
	d.line(0, "Pod Template:")
	d.multi(1, "Labels", sortedPairs(s.Spec.Template.Labels))
	for _, c := range s.Spec.Template.Spec.Containers {
		describeContainer(d, c, nil, time.Time{})
	}
	var conds []string
	for _, c := range st.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s %s", c.Type, c.Status, c.Reason))
	}
	d.multi(0, "Conditions", conds)
}

func describeNode(d *descWriter, n *v1.Node, now time.Time) {
	d.field(0, "Status", nodeStatus(n))
	d.field(0, "Roles", nodeRoles(n))
	var taints, addrs []string
	for _, t := range n.Spec.Taints {
		taints = append(taints, fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect))
	}
	d.multi(0, "Taints", taints)
	for _, a := range n.Status.Addresses {
		addrs = append(addrs, string(a.Type)+": "+a.Address)
	}
	d.multi(0, "Addresses", addrs)
	describeResources(d, "Capacity", n.Status.Capacity)
	describeResources(d, "Allocatable", n.Status.Allocatable)
	var devs []string
	for _, s := range n.Status.Storage {
		devs = append(devs, fmt.Sprintf("%s: %s %s at %s", s.Name, s.MediaType, s.Capacity.String(), orNone(s.Path)))
	}
	d.multi(0, "Storage", devs)
	if len(n.Status.Conditions) == 0 {
		d.field(0, "Conditions", none)
	} else {
		d.line(0, "Conditions:")
		var rows [][]string
		for _, c := range n.Status.Conditions {
			rows = append(rows, []string{string(c.Type), string(c.Status), age(c.LastHeartbeatTime, now), c.Reason, c.Message})
		}
		d.table(1, []string{"Type", "Status", "LastHeartbeat", "Reason", "Message"}, rows)
	}
	info := n.Status.NodeInfo
	d.line(0, "System Info:")
	d.field(1, "Kennel Version", orNone(info.KennelVersion))
	d.field(1, "OS Image", orNone(info.OSImage))
	d.field(1, "Kernel", orNone(info.KernelVersion))
	d.field(1, "Architecture", orNone(info.Architecture))
	d.field(1, "Cgroup", orNone(info.CgroupVersion))
}

func describeResources(d *descWriter, label string, r v1.ResourceList) {
	if len(r) == 0 {
		d.field(0, label, none)
		return
	}
	d.line(0, "%s:", label)
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q := r[k]
		d.field(1, k, q.String())
	}
}

// describeFields prints every top-level field but the type and metadata:
// scalars on one line, the rest as indented YAML; spec first, status last.
func describeFields(d *descWriter, o v1.Object) {
	b, err := json.Marshal(o)
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		d.field(0, "Spec", "<cannot encode: "+err.Error()+">")
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		switch k {
		case "apiVersion", "kind", "metadata":
		default:
			keys = append(keys, k)
		}
	}
	rank := func(k string) int {
		switch k {
		case "spec":
			return 0
		case "status":
			return 2
		}
		return 1
	}
	sort.Slice(keys, func(i, j int) bool {
		if rank(keys[i]) != rank(keys[j]) {
			return rank(keys[i]) < rank(keys[j])
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		describeValue(d, strings.ToUpper(k[:1])+k[1:], m[k])
	}
}

func describeValue(d *descWriter, label string, v any) {
	switch v.(type) {
	case map[string]any, []any:
		y, err := yaml.Marshal(v)
		if err != nil {
			d.field(0, label, fmt.Sprint(v))
			return
		}
		d.line(0, "%s:", label)
		for _, l := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
			d.line(1, "%s", l)
		}
	default:
		d.field(0, label, fmt.Sprint(v))
	}
}
