package v1

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestValidatePetSetUpdate(t *testing.T) {
	t.Parallel()
	runValidateUpdate(t, validPetSet, []ucase[*PetSet]{
		{"no change", func(*PetSet) {}, nil},
		{"scale", func(s *PetSet) { s.Spec.Replicas = ptr(int32(5)) }, nil},
		{"new image", func(s *PetSet) { s.Spec.Template.Spec.Containers[0].Image = "postgres:17" }, nil},
		{"partition", func(s *PetSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr(int32(2)) }, nil},
		{"retention", func(s *PetSet) { s.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = "Delete" }, nil},
		{"ordinals, minReadySeconds, history", func(s *PetSet) {
			s.Spec.Ordinals = &PetSetOrdinals{Start: 3}
			s.Spec.MinReadySeconds = 10
			s.Spec.RevisionHistoryLimit = ptr(int32(3))
		}, nil},
		{"selector", func(s *PetSet) {
			s.Spec.Selector.MatchLabels["tier"] = "db"
			s.Spec.Template.Labels["tier"] = "db"
		}, []string{"spec.selector"}},
		{"serviceName", func(s *PetSet) { s.Spec.ServiceName = "pg" }, []string{"spec.serviceName"}},
		{"claim templates", func(s *PetSet) {
			s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests["storage"] = resource.MustParse("2Gi")
		}, []string{"spec.volumeClaimTemplates"}},
		{"podManagementPolicy", func(s *PetSet) { s.Spec.PodManagementPolicy = ParallelPodManagement },
			[]string{"spec.podManagementPolicy"}},
	})
}

func TestValidatePodUpdate(t *testing.T) {
	t.Parallel()
	runValidateUpdate(t, validPod, []ucase[*Pod]{
		{"no change", func(*Pod) {}, nil},
		{"image", func(p *Pod) { p.Spec.Containers[0].Image = "postgres:17" }, nil},
		{"bind", func(p *Pod) { p.Spec.NodeName = "node-1" }, nil},
		{"labels and status", func(p *Pod) {
			p.Labels = map[string]string{"a": "b"}
			p.Status.Phase = PodRunning
		}, nil},
		{"set active deadline", func(p *Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(60)) }, nil},
		{"command", func(p *Pod) { p.Spec.Containers[0].Command = []string{"x"} }, []string{"spec.containers"}},
		{"add container", func(p *Pod) {
			p.Spec.Containers = append(p.Spec.Containers, Container{Name: "b", Image: "b"})
		}, []string{"spec.containers"}},
		{"restartPolicy", func(p *Pod) { p.Spec.RestartPolicy = RestartPolicyNever }, []string{"spec.restartPolicy"}},
		{"hostname", func(p *Pod) { p.Spec.Hostname = "x" }, []string{"spec.hostname"}},
	})
	// Rebinding a bound pod is forbidden.
	runValidateUpdate(t, func() *Pod {
		p := validPod()
		p.Spec.NodeName = "node-1"
		p.Spec.ActiveDeadlineSeconds = ptr(int64(60))
		return p
	}, []ucase[*Pod]{
		{"rebind", func(p *Pod) { p.Spec.NodeName = "node-2" }, []string{"spec.nodeName"}},
		{"unbind", func(p *Pod) { p.Spec.NodeName = "" }, []string{"spec.nodeName"}},
		{"shorter deadline", func(p *Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(30)) }, nil},
		{"longer deadline", func(p *Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(90)) }, []string{"spec.activeDeadlineSeconds"}},
	})
}

func TestValidateStorageUpdate(t *testing.T) {
	t.Parallel()
	t.Run("PersistentVolumeClaim", func(t *testing.T) {
		runValidateUpdate(t, validPVC, []ucase[*PersistentVolumeClaim]{
			{"grow", func(c *PersistentVolumeClaim) { c.Spec.Resources.Requests["storage"] = resource.MustParse("5Gi") }, nil},
			{"same size, other spelling", func(c *PersistentVolumeClaim) {
				c.Spec.Resources.Requests["storage"] = resource.MustParse("1073741824")
			}, nil},
			{"shrink", func(c *PersistentVolumeClaim) { c.Spec.Resources.Requests["storage"] = resource.MustParse("512Mi") },
				[]string{"spec.resources.requests[storage]"}},
			{"bind", func(c *PersistentVolumeClaim) { c.Spec.VolumeName = "pv-1" }, nil},
			{"access modes", func(c *PersistentVolumeClaim) {
				c.Spec.AccessModes = []PersistentVolumeAccessMode{ReadOnlyMany}
			}, []string{"spec.accessModes"}},
			{"class", func(c *PersistentVolumeClaim) { c.Spec.StorageClassName = ptr("fast") }, []string{"spec.storageClassName"}},
			{"iops", func(c *PersistentVolumeClaim) {
				c.Spec.Resources.Requests[ResourceStorageIOPS] = resource.MustParse("100")
			}, []string{"spec.resources"}},
		})
	})
	t.Run("PersistentVolume", func(t *testing.T) {
		runValidateUpdate(t, validPV, []ucase[*PersistentVolume]{
			{"bind", func(v *PersistentVolume) { v.Spec.ClaimRef = &ObjectReference{Namespace: "default", Name: "data-db-0"} }, nil},
			{"reclaim policy", func(v *PersistentVolume) { v.Spec.PersistentVolumeReclaimPolicy = PersistentVolumeReclaimDelete }, nil},
			{"path", func(v *PersistentVolume) { v.Spec.Local.Path = "/elsewhere" }, []string{"spec.persistentVolumeSource"}},
			{"node", func(v *PersistentVolume) {
				v.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values[0] = "node-2"
			}, []string{"spec.nodeAffinity"}},
		})
	})
	t.Run("StorageClass", func(t *testing.T) {
		runValidateUpdate(t, validStorageClass, []ucase[*StorageClass]{
			{"labels", func(c *StorageClass) { c.Labels = map[string]string{"a": "b"} }, nil},
			{"expansion", func(c *StorageClass) { c.AllowVolumeExpansion = ptr(true) }, nil},
			{"parameters", func(c *StorageClass) { c.Parameters["mediaType"] = "HDD" }, []string{"parameters"}},
			{"provisioner", func(c *StorageClass) { c.Provisioner = "acme/lvm" }, []string{"provisioner"}},
		})
	})
}

func TestValidateOtherUpdates(t *testing.T) {
	t.Parallel()
	t.Run("Service", func(t *testing.T) {
		runValidateUpdate(t, validService, []ucase[*Service]{
			{"ports", func(s *Service) { s.Spec.Ports[0].Port = 5433 }, nil},
			{"clusterIP", func(s *Service) { s.Spec.ClusterIP = "" }, []string{"spec.clusterIP"}},
		})
	})
	t.Run("Deployment", func(t *testing.T) {
		runValidateUpdate(t, validDeployment, []ucase[*Deployment]{
			{"replicas", func(d *Deployment) { d.Spec.Replicas = ptr(int32(4)) }, nil},
			{"selector", func(d *Deployment) { d.Spec.Selector.MatchLabels["v"] = "2" }, []string{"spec.selector"}},
		})
	})
	immutableCM := func() *ConfigMap {
		c := validConfigMap()
		c.Immutable = ptr(true)
		return c
	}
	t.Run("ConfigMap", func(t *testing.T) {
		runValidateUpdate(t, validConfigMap, []ucase[*ConfigMap]{
			{"mutable data", func(c *ConfigMap) { c.Data["x"] = "y" }, nil},
			{"make immutable", func(c *ConfigMap) { c.Immutable = ptr(true) }, nil},
		})
		runValidateUpdate(t, immutableCM, []ucase[*ConfigMap]{
			{"labels", func(c *ConfigMap) { c.Labels = map[string]string{"a": "b"} }, nil},
			{"data", func(c *ConfigMap) { c.Data["x"] = "y" }, []string{"data"}},
			{"binaryData", func(c *ConfigMap) { c.BinaryData = map[string][]byte{"x": {1}} }, []string{"binaryData"}},
			{"unset immutable", func(c *ConfigMap) { c.Immutable = nil }, []string{"immutable"}},
		})
	})
	t.Run("Secret", func(t *testing.T) {
		runValidateUpdate(t, func() *Secret {
			s := validSecret()
			s.Immutable = ptr(true)
			return s
		}, []ucase[*Secret]{
			{"labels", func(s *Secret) { s.Labels = map[string]string{"a": "b"} }, nil},
			{"stringData", func(s *Secret) { s.StringData = map[string]string{"password": "new"} }, []string{"data"}},
			{"type", func(s *Secret) { s.Type = SecretTypeBasicAuth }, []string{"type"}},
		})
	})
	t.Run("ControllerRevision", func(t *testing.T) {
		runValidateUpdate(t, func() *ControllerRevision {
			return &ControllerRevision{ObjectMeta: meta("db-1"), Data: []byte(`{"a":1,"b":{"c":2}}`), Revision: 1}
		}, []ucase[*ControllerRevision]{
			{"revision", func(r *ControllerRevision) { r.Revision = 2 }, nil},
			{"data re-encoded", func(r *ControllerRevision) { r.Data = []byte(`{ "b": {"c": 2}, "a": 1 }`) }, nil},
			{"data", func(r *ControllerRevision) { r.Data = []byte(`{"a":2}`) }, []string{"data"}},
		})
	})
}
