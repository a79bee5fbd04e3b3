package v1

import (
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Default values, as in Kubernetes.
const (
	DefaultTerminationGracePeriodSeconds int64 = 30
	DefaultRevisionHistoryLimit          int32 = 10
	DefaultProgressDeadlineSeconds       int32 = 600
)

func ptr[T any](v T) *T { return &v }

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func setDefaultPtr[T any](p **T, v T) {
	if *p == nil {
		*p = &v
	}
}

func defaultPod(p *Pod) {
	defaultPodSpec(&p.Spec)
}

func defaultPodSpec(s *PodSpec) {
	setDefault(&s.RestartPolicy, RestartPolicyAlways)
	setDefaultPtr(&s.TerminationGracePeriodSeconds, DefaultTerminationGracePeriodSeconds)
	setDefault(&s.DNSPolicy, DNSClusterFirst)
	setDefault(&s.SchedulerName, DefaultSchedulerName)
	// serviceAccount is the deprecated spelling of serviceAccountName.
	setDefault(&s.ServiceAccountName, s.DeprecatedServiceAccount)
	for i := range s.InitContainers {
		defaultContainer(&s.InitContainers[i])
	}
	for i := range s.Containers {
		defaultContainer(&s.Containers[i])
	}
	for i := range s.Volumes {
		v := &s.Volumes[i].VolumeSource
		if v.Secret != nil {
			setDefaultPtr(&v.Secret.DefaultMode, DefaultVolumeMode)
		}
		if v.ConfigMap != nil {
			setDefaultPtr(&v.ConfigMap.DefaultMode, DefaultVolumeMode)
		}
		if v.HostPath != nil {
			setDefaultPtr(&v.HostPath.Type, HostPathUnset)
		}
	}
}

func defaultContainer(c *Container) {
	for i := range c.Ports {
		setDefault(&c.Ports[i].Protocol, ProtocolTCP)
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil {
			setDefault(&vf.FieldRef.APIVersion, "v1")
		}
	}
	// A limit without a request requests the limit, so the scheduler
	// reserves what the container may use.
	for name, q := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[name]; !ok {
			if c.Resources.Requests == nil {
				c.Resources.Requests = ResourceList{}
			}
			c.Resources.Requests[name] = q.DeepCopy()
		}
	}
	for _, p := range []*Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil {
			defaultProbe(p)
		}
	}
}

func defaultProbe(p *Probe) {
	setDefault(&p.TimeoutSeconds, 1)
	setDefault(&p.PeriodSeconds, 10)
	setDefault(&p.SuccessThreshold, 1)
	setDefault(&p.FailureThreshold, 3)
	if h := p.HTTPGet; h != nil {
		setDefault(&h.Path, "/")
		setDefault(&h.Scheme, URISchemeHTTP)
	}
}

func defaultPetSet(s *PetSet) {
	spec := &s.Spec
	setDefaultPtr(&spec.Replicas, 1)
	setDefault(&spec.PodManagementPolicy, OrderedReadyPodManagement)
	setDefault(&spec.UpdateStrategy.Type, RollingUpdatePetSetStrategyType)
	if spec.UpdateStrategy.Type == RollingUpdatePetSetStrategyType {
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &RollingUpdatePetSetStrategy{}
		}
		setDefaultPtr(&spec.UpdateStrategy.RollingUpdate.Partition, 0)
		setDefaultPtr(&spec.UpdateStrategy.RollingUpdate.MaxUnavailable, intstr.FromInt32(1))
	}
	setDefaultPtr(&spec.RevisionHistoryLimit, DefaultRevisionHistoryLimit)
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &PetSetPersistentVolumeClaimRetentionPolicy{}
	}
	r := spec.PersistentVolumeClaimRetentionPolicy
	setDefault(&r.WhenDeleted, RetainPersistentVolumeClaimRetentionPolicyType)
	setDefault(&r.WhenScaled, RetainPersistentVolumeClaimRetentionPolicyType)
	defaultPodSpec(&spec.Template.Spec)
	for i := range spec.VolumeClaimTemplates {
		defaultPVCSpec(&spec.VolumeClaimTemplates[i].Spec)
	}
}

func defaultDeployment(d *Deployment) {
	spec := &d.Spec
	setDefaultPtr(&spec.Replicas, 1)
	setDefault(&spec.Strategy.Type, RollingUpdateDeploymentStrategyType)
	if spec.Strategy.Type == RollingUpdateDeploymentStrategyType {
		if spec.Strategy.RollingUpdate == nil {
			spec.Strategy.RollingUpdate = &RollingUpdateDeployment{}
		}
		setDefaultPtr(&spec.Strategy.RollingUpdate.MaxUnavailable, intstr.FromString("25%"))
		setDefaultPtr(&spec.Strategy.RollingUpdate.MaxSurge, intstr.FromString("25%"))
	}
	setDefaultPtr(&spec.RevisionHistoryLimit, DefaultRevisionHistoryLimit)
	setDefaultPtr(&spec.ProgressDeadlineSeconds, DefaultProgressDeadlineSeconds)
	defaultPodSpec(&spec.Template.Spec)
}

func defaultService(s *Service) {
	spec := &s.Spec
	setDefault(&spec.Type, ServiceTypeClusterIP)
	setDefault(&spec.SessionAffinity, ServiceAffinityNone)
	for i := range spec.Ports {
		p := &spec.Ports[i]
		setDefault(&p.Protocol, ProtocolTCP)
		if p.TargetPort.IntVal == 0 && p.TargetPort.StrVal == "" {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
}

func defaultEndpoints(e *Endpoints) {
	for i := range e.Subsets {
		for j := range e.Subsets[i].Ports {
			setDefault(&e.Subsets[i].Ports[j].Protocol, ProtocolTCP)
		}
	}
}

func defaultPVCSpec(s *PersistentVolumeClaimSpec) {
	setDefaultPtr(&s.VolumeMode, PersistentVolumeFilesystem)
}

func defaultPVC(c *PersistentVolumeClaim) {
	defaultPVCSpec(&c.Spec)
	setDefault(&c.Status.Phase, ClaimPending)
}

func defaultPV(v *PersistentVolume) {
	setDefault(&v.Spec.PersistentVolumeReclaimPolicy, PersistentVolumeReclaimRetain)
	setDefaultPtr(&v.Spec.VolumeMode, PersistentVolumeFilesystem)
	setDefault(&v.Status.Phase, VolumePending)
}

func defaultStorageClass(c *StorageClass) {
	setDefaultPtr(&c.ReclaimPolicy, PersistentVolumeReclaimDelete)
	setDefaultPtr(&c.VolumeBindingMode, VolumeBindingImmediate)
}

func defaultNamespace(n *Namespace) {
	setDefault(&n.Status.Phase, NamespaceActive)
}

func defaultNode(n *Node) {
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = ResourceList{}
		for k, v := range n.Status.Capacity {
			n.Status.Allocatable[k] = v.DeepCopy()
		}
	}
}

// defaultSecret sets the type and moves stringData into data: stringData
// is write-only and never stored.
func defaultSecret(s *Secret) {
	setDefault(&s.Type, SecretTypeOpaque)
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

func defaultPlacement(p *Placement) {
	if p.Spec.ReplicaScheduling != nil {
		setDefault(&p.Spec.ReplicaScheduling.Type, ReplicaSchedulingDuplicated)
	}
	if p.Spec.Failover != nil {
		setDefault(&p.Spec.Failover.Policy, FailoverNever)
	}
}
