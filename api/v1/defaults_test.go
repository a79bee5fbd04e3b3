package v1

import (
	"encoding/json"
	"testing"
)

// defaulted decodes a manifest and applies its kind's defaults.
func defaulted(t *testing.T, manifest string) Object {
	t.Helper()
	r := NewRegistry()
	objs, err := r.Decode([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := KindOf(r, objs[0])
	k.Default(objs[0])
	return objs[0]
}

// jsonOf is the compact JSON of v, for comparing defaulted parts.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		manifest string
		part     func(Object) any
		want     string
	}{
		{"petset spec", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: pg}]}
`, func(o Object) any {
			s := o.(*PetSet).Spec
			s.Template, s.Selector = PodTemplateSpec{}, nil
			return s
		}, `{"replicas":1,"selector":null,"template":{"metadata":{},"spec":{"containers":null}},` +
			`"podManagementPolicy":"OrderedReady","updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":0,"maxUnavailable":1}},` +
			`"revisionHistoryLimit":10,"persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Retain","whenScaled":"Retain"}}`},
		{"petset OnDelete has no rollingUpdate", `
apiVersion: kennel.io/v1
kind: PetSet
metadata: {name: db}
spec: {updateStrategy: {type: OnDelete}}
`, func(o Object) any { return o.(*PetSet).Spec.UpdateStrategy }, `{"type":"OnDelete"}`},
		{"petset claim template", `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec: {volumeClaimTemplates: [{metadata: {name: data}}]}
`, func(o Object) any { return o.(*PetSet).Spec.VolumeClaimTemplates[0].Spec }, `{"resources":{},"volumeMode":"Filesystem"}`},
		{"pod spec", `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  serviceAccount: legacy
  containers:
  - name: c
    ports: [{containerPort: 80}]
    resources: {limits: {memory: 1Gi}}
    env: [{name: NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
    readinessProbe: {httpGet: {port: 80}}
  volumes:
  - {name: s, secret: {secretName: s}}
  - {name: c, configMap: {name: c}}
`, func(o Object) any { return o.(*Pod).Spec }, `{"volumes":[{"name":"s","secret":{"secretName":"s","defaultMode":420}},` +
			`{"name":"c","configMap":{"name":"c","defaultMode":420}}],"containers":[{"name":"c","ports":[{"containerPort":80,"protocol":"TCP"}],` +
			`"env":[{"name":"NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}}],` +
			`"resources":{"limits":{"memory":"1Gi"},"requests":{"memory":"1Gi"}},"readinessProbe":{"httpGet":{"path":"/","port":80,"scheme":"HTTP"},` +
			`"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3}}],"restartPolicy":"Always",` +
			`"terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"legacy","serviceAccount":"legacy",` +
			`"schedulerName":"default-scheduler"}`},
		{"service", `
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: 80}, {port: 53, protocol: UDP, targetPort: dns}]}
`, func(o Object) any { return o.(*Service).Spec }, `{"ports":[{"protocol":"TCP","port":80,"targetPort":80},` +
			`{"protocol":"UDP","port":53,"targetPort":"dns"}],"type":"ClusterIP","sessionAffinity":"None"}`},
		{"deployment", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
`, func(o Object) any {
			s := o.(*Deployment).Spec
			s.Template = PodTemplateSpec{}
			return s
		}, `{"replicas":1,"selector":null,"template":{"metadata":{},"spec":{"containers":null}},` +
			`"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"}},` +
			`"revisionHistoryLimit":10,"progressDeadlineSeconds":600}`},
		{"pvc", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\n",
			func(o Object) any { c := o.(*PersistentVolumeClaim); return []any{c.Spec, c.Status} },
			`[{"resources":{},"volumeMode":"Filesystem"},{"phase":"Pending"}]`},
		{"pv", "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: v}\n",
			func(o Object) any { v := o.(*PersistentVolume); return []any{v.Spec, v.Status} },
			`[{"persistentVolumeReclaimPolicy":"Retain","volumeMode":"Filesystem"},{"phase":"Pending"}]`},
		{"storage class", "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: s}\nprovisioner: p\n",
			func(o Object) any { c := o.(*StorageClass); return []any{c.ReclaimPolicy, c.VolumeBindingMode} },
			`["Delete","Immediate"]`},
		{"secret", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: YQ==}\nstringData: {b: b, a: override}\n",
			func(o Object) any { s := o.(*Secret); return []any{s.Type, s.Data, s.StringData} },
			`["Opaque",{"a":"b3ZlcnJpZGU=","b":"Yg=="},null]`},
		{"namespace", "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n",
			func(o Object) any { return o.(*Namespace).Status }, `{"phase":"Active"}`},
		{"node allocatable", "apiVersion: v1\nkind: Node\nmetadata: {name: ns1}\nstatus: {capacity: {cpu: \"4\"}}\n",
			func(o Object) any { return o.(*Node).Status.Allocatable }, `{"cpu":"4"}`},
		{"endpoints", "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\nsubsets: [{ports: [{port: 80}]}]\n",
			func(o Object) any { return o.(*Endpoints).Subsets[0].Ports }, `[{"port":80,"protocol":"TCP"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := jsonOf(t, tt.part(defaulted(t, tt.manifest))); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestDefaultsKeepValues(t *testing.T) {
	t.Parallel()
	s := defaulted(t, `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 0
  podManagementPolicy: Parallel
  revisionHistoryLimit: 0
  updateStrategy: {rollingUpdate: {partition: 2, maxUnavailable: 50%}}
`).(*PetSet)
	got := jsonOf(t, []any{s.Spec.Replicas, s.Spec.PodManagementPolicy, s.Spec.RevisionHistoryLimit, s.Spec.UpdateStrategy})
	want := `[0,"Parallel",0,{"type":"RollingUpdate","rollingUpdate":{"partition":2,"maxUnavailable":"50%"}}]`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
