package volume

import (
	"errors"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func q(s string) resource.Quantity { return resource.MustParse(s) }
func qp(s string) *resource.Quantity {
	x := q(s)
	return &x
}

func TestClassQoS(t *testing.T) {
	sc := &v1.StorageClass{ObjectMeta: v1.ObjectMeta{Name: "fast"}, Parameters: map[string]string{
		v1.ParamReadIOPS: "200", v1.ParamWriteIOPS: "300", v1.ParamReadBandwidth: "50Mi", v1.ParamWriteBandwidth: "1M"}}
	got, err := ClassQoS(sc)
	if err != nil {
		t.Fatal(err)
	}
	want := QoS{ReadIOPS: 200, WriteIOPS: 300, ReadBPS: 50 << 20, WriteBPS: 1e6}
	if got != want || got.IOPS() != 500 || got.Bandwidth() != 50<<20+1e6 {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	ann := map[string]string{}
	got.Annotate(ann)
	back, err := VolumeQoS(&v1.PersistentVolume{ObjectMeta: v1.ObjectMeta{Annotations: ann}})
	if err != nil || back != want {
		t.Fatalf("annotations %v read back as %+v, %v", ann, back, err)
	}
	for _, bad := range []string{"fast", "-5", "1.5"} {
		sc.Parameters[v1.ParamWriteIOPS] = bad
		if _, err := ClassQoS(sc); err == nil {
			t.Errorf("writeIOPS %q accepted", bad)
		}
	}
}

func device(name, capacity, iops, bw string) v1.NodeStorageDevice {
	d := v1.NodeStorageDevice{Name: name, Capacity: q(capacity)}
	if iops != "" {
		d.IOPS = qp(iops)
	}
	if bw != "" {
		d.Bandwidth = qp(bw)
	}
	return d
}

func claim(uid, size, node, dev string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{ObjectMeta: v1.ObjectMeta{Name: uid, UID: uid, Annotations: map[string]string{}}}
	c.Spec.Resources.Requests = v1.ResourceList{v1.ResourceStorage: q(size)}
	if node != "" {
		c.Annotations[v1.AnnotationSelectedNode] = node
		c.Annotations[v1.AnnotationSelectedDevice] = dev
	}
	return c
}

func TestLedgerCountsClaimAndVolumeOnce(t *testing.T) {
	pv := &v1.PersistentVolume{ObjectMeta: v1.ObjectMeta{Name: "pvc-a", Annotations: map[string]string{
		v1.AnnotationVolumeNode: "n1", v1.AnnotationVolumeDevice: "data0"}}}
	pv.Spec.Capacity = v1.ResourceList{v1.ResourceStorage: q("1Gi"), v1.ResourceStorageIOPS: q("200")}
	pv.Spec.ClaimRef = &v1.ObjectReference{UID: "a"}
	claims := []*v1.PersistentVolumeClaim{claim("a", "1Gi", "n1", "data0"), claim("b", "2Gi", "n1", "data0"), claim("c", "1Gi", "", "")}
	qos := func(*v1.PersistentVolumeClaim) QoS { return QoS{WriteIOPS: 100} }
	l := BuildLedger([]*v1.PersistentVolume{pv}, claims, qos)
	used, n := l.Used(DeviceKey{"n1", "data0"})
	if want := (Demand{Storage: 3 << 30, IOPS: 300}); used != want || n != 2 {
		t.Fatalf("used %+v by %d, want %+v by 2", used, n, want)
	}
}

func TestPlace(t *testing.T) {
	node := &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "n1"}}
	node.Status.Storage = []v1.NodeStorageDevice{device("hdd", "100Gi", "300", "100Mi"), device("ssd", "10Gi", "5000", "1Gi"), device("bare", "1Ti", "", "")}
	l := NewLedger()
	l.Add("x", DeviceKey{"n1", "ssd"}, Demand{Storage: 9 << 30, IOPS: 1000})
	cases := []struct {
		name   string
		reqs   []Request
		want   []string
		reason string
	}{
		{"most free IOPS wins", []Request{{Holder: "1", Demand: Demand{Storage: 1 << 30, IOPS: 100}}}, []string{"ssd"}, ""},
		{"capacity sends it elsewhere", []Request{{Holder: "1", Demand: Demand{Storage: 2 << 30, IOPS: 100}}}, []string{"hdd"}, ""},
		{"no IOPS demand may use a device without figures", []Request{{Holder: "1", Demand: Demand{Storage: 500 << 30}}}, []string{"bare"}, ""},
		{"two claims add up", []Request{
			{Holder: "1", Demand: Demand{Storage: 1 << 30, IOPS: 3500}},
			{Holder: "2", Demand: Demand{Storage: 1 << 30, IOPS: 600}}}, nil, ReasonIOPS},
		{"device parameter", []Request{{Holder: "1", Demand: Demand{Storage: 1 << 30, Bandwidth: 200 << 20}, Device: "hdd"}}, nil, ReasonBandwidth},
		{"too big everywhere", []Request{{Holder: "1", Demand: Demand{Storage: 2 << 40}}}, nil, ReasonCapacity},
		{"already placed", []Request{{Holder: "x", Demand: Demand{Storage: 9 << 30, IOPS: 1000}}}, []string{"ssd"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := l.Place(node, c.reqs)
			var pe *PlaceError
			switch {
			case c.reason != "" && (!errors.As(err, &pe) || pe.Reason != c.reason):
				t.Fatalf("got %v, %v; want reason %q", got, err, c.reason)
			case c.reason == "" && (err != nil || len(got) != len(c.want) || got[0] != c.want[0]):
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}
