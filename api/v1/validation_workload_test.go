package v1

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidatePod(t *testing.T) {
	t.Parallel()
	c0 := "spec.containers[0]"
	runValidate(t, validPod, []vcase[*Pod]{
		{"valid", nil, nil},
		{"generateName instead of name", func(p *Pod) { p.Name, p.GenerateName = "", "db-" }, nil},
		{"no name", func(p *Pod) { p.Name = "" }, []string{"metadata.name"}},
		{"bad name", func(p *Pod) { p.Name = "DB_0" }, []string{"metadata.name"}},
		{"bad namespace", func(p *Pod) { p.Namespace = "a.b" }, []string{"metadata.namespace"}},
		{"bad label key", func(p *Pod) { p.Labels = map[string]string{"-x": "y"} }, []string{"metadata.labels"}},
		{"bad label value", func(p *Pod) { p.Labels = map[string]string{"x": strings.Repeat("y", 64)} }, []string{"metadata.labels[x]"}},
		{"prefixed label", func(p *Pod) { p.Labels = map[string]string{"kennel.io/role": "primary"} }, nil},
		{"bad annotation key", func(p *Pod) { p.Annotations = map[string]string{"a/b/c": ""} }, []string{"metadata.annotations"}},
		{"annotations too large", func(p *Pod) { p.Annotations = map[string]string{"a": strings.Repeat("x", 256*1024)} },
			[]string{"metadata.annotations"}},
		{"bad finalizer", func(p *Pod) { p.Finalizers = []string{"kennel.io/x", "a b"} }, []string{"metadata.finalizers[1]"}},
		{"owner reference without uid", func(p *Pod) {
			p.OwnerReferences = []OwnerReference{{APIVersion: "kennel.io/v1", Kind: "PetSet", Name: "db"}}
		}, []string{"metadata.ownerReferences[0].uid"}},
		{"two controllers", func(p *Pod) {
			r := OwnerReference{APIVersion: "v1", Kind: "X", Name: "a", UID: "1", Controller: ptr(true)}
			p.OwnerReferences = []OwnerReference{r, r}
		}, []string{"metadata.ownerReferences[1].controller"}},
		{"no containers", func(p *Pod) { p.Spec.Containers = nil }, []string{"spec.containers"}},
		{"container without name", func(p *Pod) { p.Spec.Containers[0].Name = "" }, []string{c0 + ".name"}},
		{"duplicate container name", func(p *Pod) {
			c := validContainer()
			c.Ports = nil
			p.Spec.InitContainers = []Container{{Name: "db", Image: "busybox"}}
			p.Spec.Containers = append(p.Spec.Containers, c)
		}, []string{"spec.containers[0].name", "spec.containers[1].name"}},
		{"command without image", func(p *Pod) {
			p.Spec.Containers[0].Image = ""
			p.Spec.Containers[0].Command = []string{"/usr/bin/redis-server"}
		}, nil},
		{"nothing to run", func(p *Pod) { p.Spec.Containers[0].Image = "" }, []string{c0 + ".image"}},
		{"port out of range", func(p *Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 }, []string{c0 + ".ports[0].containerPort"}},
		{"bad port name", func(p *Pod) { p.Spec.Containers[0].Ports[0].Name = "Postgres_Port" }, []string{c0 + ".ports[0].name"}},
		{"duplicate port name", func(p *Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, ContainerPort{Name: "pg", ContainerPort: 5433})
		}, []string{c0 + ".ports[1].name"}},
		{"bad protocol", func(p *Pod) { p.Spec.Containers[0].Ports[0].Protocol = "ICMP" }, []string{c0 + ".ports[0].protocol"}},
		{"env value and valueFrom", func(p *Pod) { p.Spec.Containers[0].Env[0].Value = "x" }, []string{c0 + ".env[0].valueFrom"}},
		{"env unsupported fieldPath", func(p *Pod) { p.Spec.Containers[0].Env[0].ValueFrom.FieldRef.FieldPath = "spec.hostname" },
			[]string{c0 + ".env[0].valueFrom.fieldRef.fieldPath"}},
		{"env label fieldPath", func(p *Pod) {
			p.Spec.Containers[0].Env[0].ValueFrom.FieldRef.FieldPath = "metadata.labels['apps.kubernetes.io/pod-index']"
		}, nil},
		{"env two sources", func(p *Pod) {
			p.Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef = &SecretKeySelector{LocalObjectReference{"s"}, "k", nil}
		}, []string{c0 + ".env[0].valueFrom"}},
		{"env secret without key", func(p *Pod) {
			p.Spec.Containers[0].Env[0].ValueFrom = &EnvVarSource{SecretKeyRef: &SecretKeySelector{LocalObjectReference: LocalObjectReference{"s"}}}
		}, []string{c0 + ".env[0].valueFrom.secretKeyRef.key"}},
		{"envFrom without source", func(p *Pod) { p.Spec.Containers[0].EnvFrom = []EnvFromSource{{Prefix: "X_"}} },
			[]string{c0 + ".envFrom[0]"}},
		{"negative request", func(p *Pod) { p.Spec.Containers[0].Resources.Requests["cpu"] = resource.MustParse("-1") },
			[]string{c0 + ".resources.requests[cpu]"}},
		{"request over limit", func(p *Pod) { p.Spec.Containers[0].Resources.Requests["memory"] = resource.MustParse("2Gi") },
			[]string{c0 + ".resources.requests[memory]"}},
		{"kennel resources", func(p *Pod) {
			p.Spec.Containers[0].Resources.Requests[ResourceNetworkBandwidth] = resource.MustParse("100M")
		}, nil},
		{"mount of missing volume", func(p *Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "nope" },
			[]string{c0 + ".volumeMounts[0].name"}},
		{"relative mount path", func(p *Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "data" },
			[]string{c0 + ".volumeMounts[0].mountPath"}},
		{"subPath escapes", func(p *Pod) { p.Spec.Containers[0].VolumeMounts[0].SubPath = "../etc" },
			[]string{c0 + ".volumeMounts[0].subPath"}},
		{"volume without source", func(p *Pod) { p.Spec.Volumes[0].EmptyDir = nil }, []string{"spec.volumes[0]"}},
		{"volume with two sources", func(p *Pod) {
			p.Spec.Volumes[0].HostPath = &HostPathVolumeSource{Path: "/srv"}
		}, []string{"spec.volumes[0].emptyDir"}},
		{"duplicate volume", func(p *Pod) { p.Spec.Volumes = append(p.Spec.Volumes, p.Spec.Volumes[0]) },
			[]string{"spec.volumes[1].name"}},
		{"claim without name", func(p *Pod) {
			p.Spec.Volumes[0].VolumeSource = VolumeSource{PersistentVolumeClaim: &PersistentVolumeClaimVolumeSource{}}
		}, []string{"spec.volumes[0].persistentVolumeClaim.claimName"}},
		{"flex volume", func(p *Pod) {
			p.Spec.Volumes[0].VolumeSource = VolumeSource{FlexVolume: &FlexVolumeSource{Driver: "acme/lvm", Options: map[string]string{"size": "1G"}}}
		}, nil},
		{"bad hostPath type", func(p *Pod) {
			p.Spec.Volumes[0].VolumeSource = VolumeSource{HostPath: &HostPathVolumeSource{Path: "/x", Type: ptr(HostPathType("Pipe"))}}
		}, []string{"spec.volumes[0].hostPath.type"}},
		{"configMap item path escapes", func(p *Pod) {
			p.Spec.Volumes[0].VolumeSource = VolumeSource{ConfigMap: &ConfigMapVolumeSource{
				LocalObjectReference: LocalObjectReference{"c"}, Items: []KeyToPath{{Key: "k", Path: "../k"}}}}
		}, []string{"spec.volumes[0].configMap.items[0].path"}},
		{"secret bad mode", func(p *Pod) {
			p.Spec.Volumes[0].VolumeSource = VolumeSource{Secret: &SecretVolumeSource{SecretName: "s", DefaultMode: ptr(int32(0o1777))}}
		}, []string{"spec.volumes[0].secret.defaultMode"}},
		{"probe without handler", func(p *Pod) { p.Spec.Containers[0].ReadinessProbe.TCPSocket = nil },
			[]string{c0 + ".readinessProbe"}},
		{"liveness success threshold", func(p *Pod) {
			p.Spec.Containers[0].LivenessProbe = &Probe{ProbeHandler: ProbeHandler{Exec: &ExecAction{Command: []string{"true"}}}, SuccessThreshold: 2}
		}, []string{c0 + ".livenessProbe.successThreshold"}},
		{"probe bad port", func(p *Pod) {
			p.Spec.Containers[0].ReadinessProbe.TCPSocket = nil
			p.Spec.Containers[0].ReadinessProbe.HTTPGet = &HTTPGetAction{Port: intstr.FromInt32(0)}
		}, []string{c0 + ".readinessProbe.httpGet.port"}},
		{"probe on init container", func(p *Pod) {
			p.Spec.InitContainers = []Container{{Name: "init", Image: "busybox", StartupProbe: &Probe{}}}
		}, []string{"spec.initContainers[0].startupProbe"}},
		{"bad restartPolicy", func(p *Pod) { p.Spec.RestartPolicy = "Sometimes" }, []string{"spec.restartPolicy"}},
		{"negative grace period", func(p *Pod) { p.Spec.TerminationGracePeriodSeconds = ptr(int64(-1)) },
			[]string{"spec.terminationGracePeriodSeconds"}},
		{"bad hostname", func(p *Pod) { p.Spec.Hostname = "db.0" }, []string{"spec.hostname"}},
		{"bad dnsPolicy", func(p *Pod) { p.Spec.DNSPolicy = "Google" }, []string{"spec.dnsPolicy"}},
		{"bad node selector", func(p *Pod) { p.Spec.NodeSelector = map[string]string{"zone": "a b"} }, []string{"spec.nodeSelector[zone]"}},
		{"negative runAsUser", func(p *Pod) { p.Spec.SecurityContext = &PodSecurityContext{RunAsUser: ptr(int64(-1))} },
			[]string{"spec.securityContext.runAsUser"}},
		{"node affinity without values", func(p *Pod) {
			p.Spec.Affinity = &Affinity{NodeAffinity: &NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &NodeSelector{
				NodeSelectorTerms: []NodeSelectorTerm{{MatchExpressions: []NodeSelectorRequirement{{Key: "zone", Operator: NodeSelectorOpIn}}}}}}}
		}, []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values"}},
		{"anti-affinity without topologyKey", func(p *Pod) {
			p.Spec.Affinity = &Affinity{PodAntiAffinity: &PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []PodAffinityTerm{{}}}}
		}, []string{"spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"}},
		{"bad preferred weight", func(p *Pod) {
			p.Spec.Affinity = &Affinity{PodAffinity: &PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []WeightedPodAffinityTerm{
				{Weight: 101, PodAffinityTerm: PodAffinityTerm{TopologyKey: LabelTopologyZone}}}}}
		}, []string{"spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"}},
		{"toleration Exists with value", func(p *Pod) {
			p.Spec.Tolerations = []Toleration{{Key: "k", Operator: TolerationOpExists, Value: "v"}}
		}, []string{"spec.tolerations[0].operator"}},
		{"tolerationSeconds without NoExecute", func(p *Pod) {
			p.Spec.Tolerations = []Toleration{{Key: "k", Operator: TolerationOpExists, Effect: TaintEffectNoSchedule, TolerationSeconds: ptr(int64(5))}}
		}, []string{"spec.tolerations[0].effect"}},
		{"spread without maxSkew", func(p *Pod) {
			p.Spec.TopologySpreadConstraints = []TopologySpreadConstraint{{TopologyKey: LabelTopologyZone, WhenUnsatisfiable: DoNotSchedule}}
		}, []string{"spec.topologySpreadConstraints[0].maxSkew"}},
		{"bad status phase", func(p *Pod) { p.Status.Phase = "Sleeping" }, []string{"status.phase"}},
	})
}

func TestValidatePetSet(t *testing.T) {
	t.Parallel()
	tp := "spec.template.spec"
	runValidate(t, validPetSet, []vcase[*PetSet]{
		{"valid", nil, nil},
		{"name not a DNS label", func(s *PetSet) { s.Name = "db.main" }, []string{"metadata.name"}},
		{"name too long for pod hostnames", func(s *PetSet) { s.Name = strings.Repeat("d", 62) }, []string{"metadata.name"}},
		{"negative replicas", func(s *PetSet) { s.Spec.Replicas = ptr(int32(-1)) }, []string{"spec.replicas"}},
		{"zero replicas", func(s *PetSet) { s.Spec.Replicas = ptr(int32(0)) }, nil},
		{"no selector", func(s *PetSet) { s.Spec.Selector = nil }, []string{"spec.selector"}},
		{"empty selector", func(s *PetSet) { s.Spec.Selector = &LabelSelector{} }, []string{"spec.selector"}},
		{"selector does not match", func(s *PetSet) { s.Spec.Template.Labels["app"] = "other" },
			[]string{"spec.template.metadata.labels"}},
		{"selector expression", func(s *PetSet) {
			s.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "app", Operator: LabelSelectorOpIn, Values: []string{"db", "pg"}}}
		}, nil},
		{"bad selector operator", func(s *PetSet) {
			s.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "app", Operator: "Near"}}
		}, []string{"spec.selector.matchExpressions[0].operator"}},
		{"no serviceName", func(s *PetSet) { s.Spec.ServiceName = "" }, nil},
		{"bad serviceName", func(s *PetSet) { s.Spec.ServiceName = "DB" }, []string{"spec.serviceName"}},
		{"bad podManagementPolicy", func(s *PetSet) { s.Spec.PodManagementPolicy = "Random" }, []string{"spec.podManagementPolicy"}},
		{"Parallel", func(s *PetSet) { s.Spec.PodManagementPolicy = ParallelPodManagement }, nil},
		{"bad updateStrategy", func(s *PetSet) { s.Spec.UpdateStrategy.Type = "Rolling" }, []string{"spec.updateStrategy.type"}},
		{"rollingUpdate with OnDelete", func(s *PetSet) {
			s.Spec.UpdateStrategy = PetSetUpdateStrategy{Type: OnDeletePetSetStrategyType, RollingUpdate: &RollingUpdatePetSetStrategy{}}
		}, []string{"spec.updateStrategy.rollingUpdate"}},
		{"negative partition", func(s *PetSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &RollingUpdatePetSetStrategy{Partition: ptr(int32(-1))}
		}, []string{"spec.updateStrategy.rollingUpdate.partition"}},
		{"zero maxUnavailable", func(s *PetSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &RollingUpdatePetSetStrategy{MaxUnavailable: ptr(intstr.FromInt32(0))}
		}, []string{"spec.updateStrategy.rollingUpdate.maxUnavailable"}},
		{"percent maxUnavailable", func(s *PetSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &RollingUpdatePetSetStrategy{MaxUnavailable: ptr(intstr.FromString("50%"))}
		}, nil},
		{"bad retention policy", func(s *PetSet) {
			s.Spec.PersistentVolumeClaimRetentionPolicy = &PetSetPersistentVolumeClaimRetentionPolicy{WhenScaled: "Keep"}
		}, []string{"spec.persistentVolumeClaimRetentionPolicy.whenScaled"}},
		{"negative ordinal start", func(s *PetSet) { s.Spec.Ordinals = &PetSetOrdinals{Start: -1} }, []string{"spec.ordinals.start"}},
		{"negative revisionHistoryLimit", func(s *PetSet) { s.Spec.RevisionHistoryLimit = ptr(int32(-1)) },
			[]string{"spec.revisionHistoryLimit"}},
		{"template restartPolicy", func(s *PetSet) { s.Spec.Template.Spec.RestartPolicy = RestartPolicyNever },
			[]string{tp + ".restartPolicy"}},
		{"template container name", func(s *PetSet) { s.Spec.Template.Spec.Containers[0].Name = "" },
			[]string{tp + ".containers[0].name"}},
		{"mount of neither volume nor claim", func(s *PetSet) { s.Spec.VolumeClaimTemplates[0].Name = "other" },
			[]string{tp + ".containers[0].volumeMounts[0].name"}},
		{"duplicate claim template", func(s *PetSet) {
			s.Spec.VolumeClaimTemplates = append(s.Spec.VolumeClaimTemplates, validClaim("data"))
		}, []string{"spec.volumeClaimTemplates[1].metadata.name"}},
		{"claim template without storage", func(s *PetSet) { s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests = nil },
			[]string{"spec.volumeClaimTemplates[0].spec.resources.requests[storage]"}},
		{"claim template bad access mode", func(s *PetSet) {
			s.Spec.VolumeClaimTemplates[0].Spec.AccessModes = []PersistentVolumeAccessMode{"ReadWriteSometimes"}
		}, []string{"spec.volumeClaimTemplates[0].spec.accessModes[0]"}},
	})
}

func TestValidateDeployment(t *testing.T) {
	t.Parallel()
	runValidate(t, validDeployment, []vcase[*Deployment]{
		{"valid", nil, nil},
		{"no selector", func(d *Deployment) { d.Spec.Selector = nil }, []string{"spec.selector"}},
		{"selector does not match", func(d *Deployment) { d.Spec.Template.Labels = nil }, []string{"spec.template.metadata.labels"}},
		{"bad strategy", func(d *Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, []string{"spec.strategy.type"}},
		{"Recreate with rollingUpdate", func(d *Deployment) {
			d.Spec.Strategy = DeploymentStrategy{Type: RecreateDeploymentStrategyType, RollingUpdate: &RollingUpdateDeployment{}}
		}, []string{"spec.strategy.rollingUpdate"}},
		{"both zero", func(d *Deployment) {
			d.Spec.Strategy.RollingUpdate = &RollingUpdateDeployment{MaxSurge: ptr(intstr.FromInt32(0)), MaxUnavailable: ptr(intstr.FromString("0%"))}
		}, []string{"spec.strategy.rollingUpdate.maxUnavailable"}},
		{"bad percent", func(d *Deployment) {
			d.Spec.Strategy.RollingUpdate = &RollingUpdateDeployment{MaxSurge: ptr(intstr.FromString("150%"))}
		}, []string{"spec.strategy.rollingUpdate.maxSurge"}},
		{"progress deadline below minReady", func(d *Deployment) {
			d.Spec.MinReadySeconds = 30
			d.Spec.ProgressDeadlineSeconds = ptr(int32(10))
		}, []string{"spec.progressDeadlineSeconds"}},
		{"template activeDeadlineSeconds", func(d *Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(5)) },
			[]string{"spec.template.spec.activeDeadlineSeconds"}},
	})
}
