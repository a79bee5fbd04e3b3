package v1

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidateService(t *testing.T) {
	t.Parallel()
	runValidate(t, validService, []vcase[*Service]{
		{"valid", nil, nil},
		{"name must be a DNS label", func(s *Service) { s.Name = "db.main" }, []string{"metadata.name"}},
		{"NodePort", func(s *Service) { s.Spec.Type = ServiceTypeNodePort }, []string{"spec.type"}},
		{"LoadBalancer", func(s *Service) { s.Spec.Type = ServiceTypeLoadBalancer }, []string{"spec.type"}},
		{"unknown type", func(s *Service) { s.Spec.Type = "Mesh" }, []string{"spec.type"}},
		{"nodePort set", func(s *Service) { s.Spec.Ports[0].NodePort = 30000 }, []string{"spec.ports[0].nodePort"}},
		{"ExternalName", func(s *Service) {
			s.Spec = ServiceSpec{Type: ServiceTypeExternalName, ExternalName: "db.example.com."}
		}, nil},
		{"ExternalName without name", func(s *Service) { s.Spec = ServiceSpec{Type: ServiceTypeExternalName} },
			[]string{"spec.externalName"}},
		{"ExternalName not a DNS name", func(s *Service) {
			s.Spec = ServiceSpec{Type: ServiceTypeExternalName, ExternalName: "db_primary.example.com"}
		}, []string{"spec.externalName"}},
		{"ExternalName with selector", func(s *Service) {
			s.Spec = ServiceSpec{Type: ServiceTypeExternalName, ExternalName: "db.example.com", Selector: map[string]string{"app": "db"}}
		}, []string{"spec.selector"}},
		{"ExternalName with clusterIP", func(s *Service) {
			s.Spec = ServiceSpec{Type: ServiceTypeExternalName, ExternalName: "db.example.com", ClusterIP: "10.96.0.10"}
		}, []string{"spec.clusterIP"}},
		{"headless without ports", func(s *Service) { s.Spec.Ports = nil }, nil},
		{"not headless without ports", func(s *Service) { s.Spec.Ports, s.Spec.ClusterIP = nil, "" }, []string{"spec.ports"}},
		{"any IP is accepted", func(s *Service) { s.Spec.ClusterIP = "10.96.0.10" }, nil},
		{"clusterIP not an IP", func(s *Service) { s.Spec.ClusterIP = "auto" }, []string{"spec.clusterIP"}},
		{"port zero", func(s *Service) { s.Spec.Ports[0].Port = 0 }, []string{"spec.ports[0].port"}},
		{"unnamed ports", func(s *Service) {
			s.Spec.Ports = []ServicePort{{Port: 1}, {Name: "b", Port: 2}}
		}, []string{"spec.ports[0].name"}},
		{"one unnamed port", func(s *Service) { s.Spec.Ports[0].Name = "" }, nil},
		{"duplicate port names", func(s *Service) {
			s.Spec.Ports = []ServicePort{{Name: "a", Port: 1}, {Name: "a", Port: 2}}
		}, []string{"spec.ports[1].name"}},
		{"bad port name", func(s *Service) { s.Spec.Ports[0].Name = "my_port" }, []string{"spec.ports[0].name"}},
		{"named targetPort", func(s *Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("pg") }, nil},
		{"bad targetPort", func(s *Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(70000) }, []string{"spec.ports[0].targetPort"}},
		{"targetPort not an IANA name", func(s *Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("postgres_main") },
			[]string{"spec.ports[0].targetPort"}},
		{"targetPort name too long", func(s *Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("postgres-primary1") },
			[]string{"spec.ports[0].targetPort"}},
		{"UDP and SCTP", func(s *Service) {
			s.Spec.Ports = []ServicePort{{Name: "dns", Port: 53, Protocol: ProtocolUDP}, {Name: "sig", Port: 2905, Protocol: ProtocolSCTP}}
		}, nil},
		{"bad protocol", func(s *Service) { s.Spec.Ports[0].Protocol = "QUIC" }, []string{"spec.ports[0].protocol"}},
		{"same port and protocol twice", func(s *Service) {
			s.Spec.Ports = []ServicePort{{Name: "a", Port: 53}, {Name: "b", Port: 53}}
		}, []string{"spec.ports[1]"}},
		{"same port, other protocols", func(s *Service) {
			s.Spec.Ports = []ServicePort{{Name: "dns-tcp", Port: 53}, {Name: "dns-udp", Port: 53, Protocol: ProtocolUDP}}
		}, nil},
		{"bad selector", func(s *Service) { s.Spec.Selector = map[string]string{"app": "a b"} }, []string{"spec.selector[app]"}},
		{"bad sessionAffinity", func(s *Service) { s.Spec.SessionAffinity = "Sticky" }, []string{"spec.sessionAffinity"}},
	})
}

// TestServiceNodePortMessage checks that a user who asks for a load
// balancer or a node port is told which field is refused, why, and what to
// do instead.
func TestServiceNodePortMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(*Service)
		field  string
		value  string
	}{
		{"LoadBalancer", func(s *Service) { s.Spec.Type = ServiceTypeLoadBalancer }, "spec.type", `"LoadBalancer"`},
		{"NodePort", func(s *Service) { s.Spec.Type = ServiceTypeNodePort }, "spec.type", `"NodePort"`},
		{"nodePort", func(s *Service) { s.Spec.Ports[0].NodePort = 30080 }, "spec.ports[0].nodePort", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := validService()
			tc.mutate(s)
			errs := validateService(s)
			if len(errs) != 1 || errs[0].Type != FieldNotSupported || errs[0].Field != tc.field {
				t.Fatalf("got %v, want one NotSupported error on %s", errs, tc.field)
			}
			msg := errs[0].Error()
			for _, want := range []string{tc.field + ": ", tc.value, "Kennel has no load balancer or node ports",
				"clients resolve the service name by DNS to its ready endpoints"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not say %q", msg, want)
				}
			}
		})
	}
}

func TestValidateEndpoints(t *testing.T) {
	t.Parallel()
	runValidate(t, validEndpoints, []vcase[*Endpoints]{
		{"valid", nil, nil},
		{"bad IP", func(e *Endpoints) { e.Subsets[0].Addresses[0].IP = "db-0" }, []string{"subsets[0].addresses[0].ip"}},
		{"bad hostname", func(e *Endpoints) { e.Subsets[0].Addresses[0].Hostname = "db_0" }, []string{"subsets[0].addresses[0].hostname"}},
		{"bad port", func(e *Endpoints) { e.Subsets[0].Ports[0].Port = -1 }, []string{"subsets[0].ports[0].port"}},
		{"bad name", func(e *Endpoints) { e.Name = "DB" }, []string{"metadata.name"}},
		{"not-ready IPv6", func(e *Endpoints) {
			e.Subsets[0].NotReadyAddresses = []EndpointAddress{{IP: "::1"}}
		}, nil},
	})
}

func TestValidatePVC(t *testing.T) {
	t.Parallel()
	req := "spec.resources.requests"
	runValidate(t, validPVC, []vcase[*PersistentVolumeClaim]{
		{"valid", nil, nil},
		{"no storage request", func(c *PersistentVolumeClaim) { delete(c.Spec.Resources.Requests, "storage") }, []string{req + "[storage]"}},
		{"zero storage", func(c *PersistentVolumeClaim) { c.Spec.Resources.Requests["storage"] = resource.MustParse("0") },
			[]string{req + "[storage]"}},
		{"negative storage", func(c *PersistentVolumeClaim) { c.Spec.Resources.Requests["storage"] = resource.MustParse("-1Gi") },
			[]string{req + "[storage]", req + "[storage]"}},
		{"QoS requests", func(c *PersistentVolumeClaim) {
			c.Spec.Resources.Requests[ResourceStorageIOPS] = resource.MustParse("500")
			c.Spec.Resources.Requests[ResourceStorageBandwidth] = resource.MustParse("100Mi")
		}, nil},
		{"cpu request", func(c *PersistentVolumeClaim) { c.Spec.Resources.Requests["cpu"] = resource.MustParse("1") }, []string{req}},
		{"no access modes", func(c *PersistentVolumeClaim) { c.Spec.AccessModes = nil }, []string{"spec.accessModes"}},
		{"ReadWriteOncePod with another", func(c *PersistentVolumeClaim) {
			c.Spec.AccessModes = []PersistentVolumeAccessMode{ReadWriteOncePod, ReadOnlyMany}
		}, []string{"spec.accessModes"}},
		{"bad volumeMode", func(c *PersistentVolumeClaim) { c.Spec.VolumeMode = ptr(PersistentVolumeMode("Raw")) }, []string{"spec.volumeMode"}},
		{"empty class means none", func(c *PersistentVolumeClaim) { c.Spec.StorageClassName = ptr("") }, nil},
		{"bad class", func(c *PersistentVolumeClaim) { c.Spec.StorageClassName = ptr("Fast SSD") }, []string{"spec.storageClassName"}},
	})
}

func TestValidatePV(t *testing.T) {
	t.Parallel()
	runValidate(t, validPV, []vcase[*PersistentVolume]{
		{"valid", nil, nil},
		{"namespaced", func(v *PersistentVolume) { v.Namespace = "default" }, []string{"metadata.namespace"}},
		{"no capacity", func(v *PersistentVolume) { v.Spec.Capacity = nil }, []string{"spec.capacity[storage]"}},
		{"no source", func(v *PersistentVolume) { v.Spec.Local = nil }, []string{"spec"}},
		{"two sources", func(v *PersistentVolume) { v.Spec.HostPath = &HostPathVolumeSource{Path: "/x"} }, []string{"spec"}},
		{"local without node affinity", func(v *PersistentVolume) { v.Spec.NodeAffinity = nil }, []string{"spec.nodeAffinity"}},
		{"local relative path", func(v *PersistentVolume) { v.Spec.Local.Path = "pv-1" }, []string{"spec.local.path"}},
		{"flex", func(v *PersistentVolume) {
			v.Spec.PersistentVolumeSource = PersistentVolumeSource{FlexVolume: &FlexPersistentVolumeSource{Driver: "acme/lvm"}}
		}, nil},
		{"Recycle", func(v *PersistentVolume) { v.Spec.PersistentVolumeReclaimPolicy = PersistentVolumeReclaimRecycle },
			[]string{"spec.persistentVolumeReclaimPolicy"}},
		{"claimRef without namespace", func(v *PersistentVolume) { v.Spec.ClaimRef = &ObjectReference{Name: "data-db-0"} },
			[]string{"spec.claimRef.namespace"}},
		{"bad node affinity operator", func(v *PersistentVolume) {
			v.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Operator = "Gt"
		}, []string{"spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]"}},
	})
}

func TestValidateStorageClass(t *testing.T) {
	t.Parallel()
	runValidate(t, validStorageClass, []vcase[*StorageClass]{
		{"valid", nil, nil},
		{"no provisioner", func(c *StorageClass) { c.Provisioner = "" }, []string{"provisioner"}},
		{"bad provisioner", func(c *StorageClass) { c.Provisioner = "a/b/c" }, []string{"provisioner"}},
		{"bad reclaim policy", func(c *StorageClass) { c.ReclaimPolicy = ptr(PersistentVolumeReclaimRecycle) }, []string{"reclaimPolicy"}},
		{"bad binding mode", func(c *StorageClass) { c.VolumeBindingMode = ptr(VolumeBindingMode("Later")) }, []string{"volumeBindingMode"}},
		{"topology without values", func(c *StorageClass) {
			c.AllowedTopologies = []TopologySelectorTerm{{MatchLabelExpressions: []TopologySelectorLabelRequirement{{Key: LabelTopologyZone}}}}
		}, []string{"allowedTopologies[0].matchLabelExpressions[0].values"}},
	})
}

func TestValidateNode(t *testing.T) {
	t.Parallel()
	runValidate(t, validNode, []vcase[*Node]{
		{"valid", nil, nil},
		{"bad podCIDR", func(n *Node) { n.Spec.PodCIDR = "127.1.0.0" }, []string{"spec.podCIDR"}},
		{"taint without effect", func(n *Node) { n.Spec.Taints = []Taint{{Key: TaintNodeUnreachable}} }, []string{"spec.taints[0].effect"}},
		{"duplicate taint", func(n *Node) {
			t := Taint{Key: "k", Effect: TaintEffectNoSchedule}
			n.Spec.Taints = []Taint{t, t}
		}, []string{"spec.taints[1]"}},
		{"negative capacity", func(n *Node) { n.Status.Capacity["cpu"] = resource.MustParse("-1") },
			[]string{"status.capacity[cpu]", "status.allocatable[cpu]"}}, // allocatable defaults to capacity
		{"bad device", func(n *Node) { n.Status.Storage[0].Device = "/dev/nvme0n1" }, []string{"status.storage[0].device"}},
		{"duplicate device name", func(n *Node) { n.Status.Storage = append(n.Status.Storage, n.Status.Storage[0]) },
			[]string{"status.storage[1].name"}},
		{"bad media type", func(n *Node) { n.Status.Storage[0].MediaType = "Tape" }, []string{"status.storage[0].mediaType"}},
		{"bad address type", func(n *Node) { n.Status.Addresses[0].Type = "PublicIP" }, []string{"status.addresses[0].type"}},
		{"bad condition status", func(n *Node) {
			n.Status.Conditions = []NodeCondition{{Type: NodeReady, Status: "Yes"}}
		}, []string{"status.conditions[0].status"}},
	})
}

func TestValidateConfigAndSecrets(t *testing.T) {
	t.Parallel()
	runValidate(t, validConfigMap, []vcase[*ConfigMap]{
		{"valid", nil, nil},
		{"bad key", func(c *ConfigMap) { c.Data["a/b"] = "" }, []string{"data"}},
		{"key in both", func(c *ConfigMap) { c.BinaryData = map[string][]byte{"redis.conf": nil} }, []string{"binaryData[redis.conf]"}},
		{"too large", func(c *ConfigMap) { c.Data["big"] = strings.Repeat("x", 1024*1024) }, []string{"data"}},
	})
	runValidate(t, validSecret, []vcase[*Secret]{
		{"valid", nil, nil},
		{"stringData", func(s *Secret) { s.StringData = map[string]string{"user": "admin"} }, nil},
		{"bad key", func(s *Secret) { s.Data[".."] = nil }, []string{"data"}},
		{"tls without key", func(s *Secret) {
			s.Type = SecretTypeTLS
			s.Data = map[string][]byte{"tls.crt": []byte("c")}
		}, []string{"data[tls.key]"}},
		{"tls from stringData", func(s *Secret) {
			s.Type = SecretTypeTLS
			s.StringData = map[string]string{"tls.crt": "c", "tls.key": "k"}
		}, nil},
		{"too large", func(s *Secret) { s.Data["big"] = make([]byte, 1024*1024+1) }, []string{"data"}},
	})
}

func TestValidateOtherKinds(t *testing.T) {
	t.Parallel()
	t.Run("Event", func(t *testing.T) {
		runValidate(t, validEvent, []vcase[*Event]{
			{"valid", nil, nil},
			{"bad type", func(e *Event) { e.Type = "Error" }, []string{"type"}},
			{"other namespace", func(e *Event) { e.InvolvedObject.Namespace = "kube-system" }, []string{"involvedObject.namespace"}},
			{"long reason", func(e *Event) { e.Reason = strings.Repeat("r", 129) }, []string{"reason"}},
		})
	})
	t.Run("Namespace", func(t *testing.T) {
		runValidate(t, func() *Namespace { return &Namespace{ObjectMeta: ObjectMeta{Name: "cache"}} }, []vcase[*Namespace]{
			{"valid", nil, nil},
			{"not a DNS label", func(n *Namespace) { n.Name = "a.b" }, []string{"metadata.name"}},
			{"in a namespace", func(n *Namespace) { n.Namespace = "default" }, []string{"metadata.namespace"}},
		})
	})
	t.Run("Lease", func(t *testing.T) {
		runValidate(t, func() *Lease { return &Lease{ObjectMeta: meta("node-1")} }, []vcase[*Lease]{
			{"valid", nil, nil},
			{"zero duration", func(l *Lease) { l.Spec.LeaseDurationSeconds = ptr(int32(0)) }, []string{"spec.leaseDurationSeconds"}},
		})
	})
	t.Run("ControllerRevision", func(t *testing.T) {
		runValidate(t, func() *ControllerRevision {
			return &ControllerRevision{ObjectMeta: meta("db-7d9f"), Data: []byte(`{"spec":{}}`), Revision: 1}
		}, []vcase[*ControllerRevision]{
			{"valid", nil, nil},
			{"negative revision", func(r *ControllerRevision) { r.Revision = -1 }, []string{"revision"}},
		})
	})
	t.Run("Cluster", func(t *testing.T) {
		runValidate(t, validCluster, []vcase[*Cluster]{
			{"valid", nil, nil},
			{"no region", func(c *Cluster) { c.Spec.Region = "" }, []string{"spec.region"}},
			{"bad zone", func(c *Cluster) { c.Spec.Zones = []string{"Paris A"} }, []string{"spec.zones[0]"}},
			{"bad endpoint", func(c *Cluster) { c.Spec.APIEndpoint = "paris-1:6443" }, []string{"spec.apiEndpoint"}},
		})
	})
	t.Run("Placement", func(t *testing.T) {
		runValidate(t, validPlacement, []vcase[*Placement]{
			{"valid", nil, nil},
			{"no selectors", func(p *Placement) { p.Spec.ResourceSelectors = nil }, []string{"spec.resourceSelectors"}},
			{"no kind", func(p *Placement) { p.Spec.ResourceSelectors[0].Kind = "" }, []string{"spec.resourceSelectors[0].kind"}},
			{"bad replica scheduling", func(p *Placement) { p.Spec.ReplicaScheduling = &ReplicaScheduling{Type: "Spread"} }, []string{"spec.replicaScheduling.type"}},
			{"negative weight", func(p *Placement) {
				p.Spec.ReplicaScheduling = &ReplicaScheduling{Type: ReplicaSchedulingDivided, Weights: []ClusterWeight{{Clusters: []string{"paris-1"}, Weight: -1}}}
			}, []string{"spec.replicaScheduling.weights[0].weight"}},
			{"cluster weighted twice", func(p *Placement) {
				p.Spec.ReplicaScheduling = &ReplicaScheduling{Type: ReplicaSchedulingDivided, Weights: []ClusterWeight{{Clusters: []string{"a"}, Weight: 1}, {Clusters: []string{"a"}, Weight: 2}}}
			}, []string{"spec.replicaScheduling.weights[1].clusters[0]"}},
			{"weights with Duplicated", func(p *Placement) {
				p.Spec.ReplicaScheduling = &ReplicaScheduling{Type: ReplicaSchedulingDuplicated, Weights: []ClusterWeight{{Clusters: []string{"a"}, Weight: 1}}}
			}, []string{"spec.replicaScheduling.weights"}},
			{"selector in another namespace", func(p *Placement) { p.Spec.ResourceSelectors[0].Namespace = "other" }, []string{"spec.resourceSelectors[0].namespace"}},
			{"bad spread field", func(p *Placement) { p.Spec.SpreadConstraints = []SpreadConstraint{{SpreadByField: "rack"}} }, []string{"spec.spreadConstraints[0].spreadByField"}},
			{"min over max groups", func(p *Placement) {
				p.Spec.SpreadConstraints = []SpreadConstraint{{SpreadByField: SpreadByRegion, MinGroups: 3, MaxGroups: 2}}
			}, []string{"spec.spreadConstraints[0].minGroups"}},
			{"override without clusters or change", func(p *Placement) { p.Spec.Overrides = []ClusterOverride{{}} }, []string{"spec.overrides[0].clusters", "spec.overrides[0].set"}},
			{"patch path not a pointer", func(p *Placement) {
				p.Spec.Overrides = []ClusterOverride{{Clusters: []string{"a"}, JSONPatch: []JSONPatchOperation{{Op: "remove", Path: "spec"}}}}
			}, []string{"spec.overrides[0].jsonPatch[0].path"}},
			{"automatic failover", func(p *Placement) { p.Spec.Failover = &FailoverPolicy{Policy: FailoverAutomatic} }, nil},
			{"fencing period too short", func(p *Placement) {
				p.Spec.Failover = &FailoverPolicy{Policy: FailoverAutomatic, FencingPeriod: &Duration{time.Millisecond}}
			}, []string{"spec.failover.fencingPeriod"}},
		})
	})
}
