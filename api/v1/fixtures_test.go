package v1

import (
	"encoding/json"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Valid objects of every kind; each test case changes one thing.

func meta(name string) ObjectMeta { return ObjectMeta{Name: name, Namespace: "default"} }

func validContainer() Container {
	return Container{
		Name:  "db",
		Image: "postgres:16",
		Ports: []ContainerPort{{Name: "pg", ContainerPort: 5432}},
		Env:   []EnvVar{{Name: "POD_NAME", ValueFrom: &EnvVarSource{FieldRef: &ObjectFieldSelector{FieldPath: "metadata.name"}}}},
		Resources: ResourceRequirements{
			Requests: ResourceList{"cpu": resource.MustParse("100m")},
			Limits:   ResourceList{"memory": resource.MustParse("1Gi")},
		},
		VolumeMounts:   []VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql"}},
		ReadinessProbe: &Probe{ProbeHandler: ProbeHandler{TCPSocket: &TCPSocketAction{Port: intstr.FromString("pg")}}},
	}
}

func validPodSpec() PodSpec {
	return PodSpec{
		Containers: []Container{validContainer()},
		Volumes:    []Volume{{Name: "data", VolumeSource: VolumeSource{EmptyDir: &EmptyDirVolumeSource{}}}},
	}
}

func validPod() *Pod { return &Pod{ObjectMeta: meta("db-0"), Spec: validPodSpec()} }

func validClaim(name string) PersistentVolumeClaim {
	return PersistentVolumeClaim{
		ObjectMeta: ObjectMeta{Name: name},
		Spec: PersistentVolumeClaimSpec{
			AccessModes: []PersistentVolumeAccessMode{ReadWriteOnce},
			Resources:   VolumeResourceRequirements{Requests: ResourceList{"storage": resource.MustParse("1Gi")}},
		},
	}
}

func validPetSet() *PetSet {
	spec := validPodSpec()
	spec.Volumes = nil // the claim template "data" provides the volume
	return &PetSet{
		ObjectMeta: meta("db"),
		Spec: PetSetSpec{
			Selector:             &LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			ServiceName:          "db",
			Template:             PodTemplateSpec{ObjectMeta: ObjectMeta{Labels: map[string]string{"app": "db"}}, Spec: spec},
			VolumeClaimTemplates: []PersistentVolumeClaim{validClaim("data")},
		},
	}
}

func validDeployment() *Deployment {
	return &Deployment{
		ObjectMeta: meta("web"),
		Spec: DeploymentSpec{
			Selector: &LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: PodTemplateSpec{ObjectMeta: ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: validPodSpec()},
		},
	}
}

func validService() *Service {
	return &Service{ObjectMeta: meta("db"), Spec: ServiceSpec{
		ClusterIP: ClusterIPNone,
		Selector:  map[string]string{"app": "db"},
		Ports:     []ServicePort{{Name: "pg", Port: 5432}},
	}}
}

func validEndpoints() *Endpoints {
	return &Endpoints{ObjectMeta: meta("db"), Subsets: []EndpointSubset{{
		Addresses: []EndpointAddress{{IP: "127.1.0.2", Hostname: "db-0", TargetRef: &ObjectReference{Kind: "Pod", Name: "db-0"}}},
		Ports:     []EndpointPort{{Name: "pg", Port: 5432}},
	}}}
}

func validPVC() *PersistentVolumeClaim {
	c := validClaim("data-db-0")
	c.Namespace = "default"
	return &c
}

func validPV() *PersistentVolume {
	return &PersistentVolume{ObjectMeta: ObjectMeta{Name: "pv-1"}, Spec: PersistentVolumeSpec{
		Capacity:               ResourceList{"storage": resource.MustParse("10Gi"), ResourceStorageIOPS: resource.MustParse("1000")},
		PersistentVolumeSource: PersistentVolumeSource{Local: &LocalVolumeSource{Path: "/srv/kennel/pv-1"}},
		AccessModes:            []PersistentVolumeAccessMode{ReadWriteOnce},
		NodeAffinity: &VolumeNodeAffinity{Required: &NodeSelector{NodeSelectorTerms: []NodeSelectorTerm{{
			MatchExpressions: []NodeSelectorRequirement{{Key: LabelHostname, Operator: NodeSelectorOpIn, Values: []string{"node-1"}}},
		}}}},
	}}
}

func validStorageClass() *StorageClass {
	return &StorageClass{ObjectMeta: ObjectMeta{Name: "local"}, Provisioner: "kennel.io/local",
		Parameters: map[string]string{"mediaType": "SSD"}}
}

func validNode() *Node {
	return &Node{ObjectMeta: ObjectMeta{Name: "node-1"},
		Spec: NodeSpec{PodCIDR: "127.1.0.0/16"},
		Status: NodeStatus{
			Capacity:  ResourceList{"cpu": resource.MustParse("4"), "memory": resource.MustParse("8Gi")},
			Addresses: []NodeAddress{{Type: NodeInternalIP, Address: "192.168.1.10"}},
			Storage: []NodeStorageDevice{{Name: "data0", Path: "/srv/kennel", Device: "259:0", MediaType: MediaTypeNVMe,
				Capacity: resource.MustParse("500Gi"), IOPS: ptr(resource.MustParse("50000"))}},
		}}
}

func validConfigMap() *ConfigMap {
	return &ConfigMap{ObjectMeta: meta("conf"), Data: map[string]string{"redis.conf": "appendonly yes"}}
}

func validSecret() *Secret {
	return &Secret{ObjectMeta: meta("creds"), Data: map[string][]byte{"password": []byte("s3cret")}}
}

func validEvent() *Event {
	return &Event{ObjectMeta: meta("db-0.1"), InvolvedObject: ObjectReference{Kind: "Pod", Namespace: "default", Name: "db-0"},
		Reason: "Scheduled", Message: "assigned to node-1", Type: EventTypeNormal, Count: 1}
}

func validCluster() *Cluster {
	return &Cluster{ObjectMeta: ObjectMeta{Name: "paris-1"},
		Spec: ClusterSpec{APIEndpoint: "https://paris-1.example.com:6443", Region: "eu-west", Zones: []string{"paris-a"}}}
}

func validPlacement() *Placement {
	return &Placement{ObjectMeta: meta("db"), Spec: PlacementSpec{
		ResourceSelectors: []ResourceSelector{{Kind: "PetSet", Name: "db"}},
		ClusterAffinity:   &ClusterAffinity{LabelSelector: &LabelSelector{MatchLabels: map[string]string{"region": "eu-west"}}},
	}}
}

// vcase is one validation case: change a valid object, expect errors on
// exactly these fields (nil: valid).
type vcase[T Object] struct {
	name   string
	mutate func(T)
	want   []string
}

// runValidate defaults and validates each case, as the API server does on
// create.
func runValidate[T Object](t *testing.T, base func() T, cases []vcase[T]) {
	t.Helper()
	r := NewRegistry()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := base()
			k, ok := KindOf(r, o)
			if !ok {
				t.Fatalf("no kind for %T", o)
			}
			if tc.mutate != nil {
				tc.mutate(o)
			}
			if k.Default != nil {
				k.Default(o)
			}
			errs := k.Validate(o)
			if got := errorFields(errs); !slices.Equal(got, tc.want) {
				t.Errorf("error fields %q, want %q\nerrors: %v", got, tc.want, errs)
			}
		})
	}
}

func errorFields(errs FieldErrors) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

// ucase is one update case: change a valid, defaulted object; expect
// ValidateUpdate errors on exactly these fields.
type ucase[T Object] struct {
	name   string
	mutate func(T)
	want   []string
}

func runValidateUpdate[T Object](t *testing.T, base func() T, cases []ucase[T]) {
	t.Helper()
	r := NewRegistry()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			old := base()
			k, _ := KindOf(r, old)
			if k.Default != nil {
				k.Default(old)
			}
			// The new object comes off the wire, as on a real update.
			b, err := json.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			n, err := r.DecodeInto(b, k)
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(n.(T))
			if k.Default != nil {
				k.Default(n)
			}
			errs := k.ValidateUpdate(old, n)
			if got := errorFields(errs); !slices.Equal(got, tc.want) {
				t.Errorf("error fields %q, want %q\nerrors: %v", got, tc.want, errs)
			}
		})
	}
}
