package bench

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/controller/volumebinding"
	"github.com/kennel-dev/kennel/internal/events"
	"github.com/kennel-dev/kennel/internal/testcluster"
	"github.com/kennel-dev/kennel/internal/volume/local"
	"k8s.io/apimachinery/pkg/api/resource"
)

// provisionRig is a control plane with the volume binding controller and
// one node whose local provisioner (with the node's own token, as in its
// agent) carves directory volumes in a temp dir.
func provisionRig(tb testing.TB) *testcluster.Cluster {
	tb.Helper()
	cl := testcluster.Start(tb)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	node := &v1.Node{ObjectMeta: v1.ObjectMeta{Name: "bench-node", Labels: map[string]string{v1.LabelHostname: "bench-node"}}}
	node, err := client.For[*v1.Node](cl.Admin, "").Create(ctx, node)
	if err != nil {
		tb.Fatal(err)
	}
	dev := v1.NodeStorageDevice{Name: "data0", Path: tb.TempDir(), Capacity: resource.MustParse("1Ti"), IOPS: resourcePtr("100000")}
	node.Status.Storage = []v1.NodeStorageDevice{dev}
	node.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}
	if _, err := client.For[*v1.Node](cl.Admin, "").UpdateStatus(ctx, node); err != nil {
		tb.Fatal(err)
	}
	vb, err := volumebinding.New(cl.Admin, log, controller.Options{Workers: 2})
	if err != nil {
		tb.Fatal(err)
	}
	go vb.Run(ctx)
	nc := cl.Client(cl.Token(apiserver.RoleNode, "bench-node"))
	rec := &events.Recorder{Client: nc, Component: "agent", Instance: "bench-node", Logger: log}
	if _, err := local.StartProvisioner(ctx, local.ProvisionerConfig{Client: nc, NodeName: "bench-node",
		Devices: []v1.NodeStorageDevice{dev}, Recorder: rec, Logger: log}); err != nil {
		tb.Fatal(err)
	}
	class := &v1.StorageClass{ObjectMeta: v1.ObjectMeta{Name: "local"}, Provisioner: v1.ProvisionerLocal,
		Parameters: map[string]string{v1.ParamWriteIOPS: "100"}}
	if _, err := client.For[*v1.StorageClass](cl.Admin, "").Create(ctx, class); err != nil {
		tb.Fatal(err)
	}
	return cl
}

func resourcePtr(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

// BenchmarkProvisionBind times 100 claims of an Immediate kennel.io/local
// class (directory volumes, 100 write IOPS each), created in a burst,
// from create to Bound.
//
//	go test ./bench -run '^$' -bench ProvisionBind -benchtime 1x
func BenchmarkProvisionBind(b *testing.B) {
	for i := 0; i < b.N; i++ {
		cl := provisionRig(b)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		res, err := MeasureProvision(ctx, cl.Admin, "default", "local", 100, "1Gi")
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.Log(res)
		b.ReportMetric(float64(res.P50.Microseconds())/1000, "bound-p50-ms")
		b.ReportMetric(float64(res.P99.Microseconds())/1000, "bound-p99-ms")
		b.ReportMetric(res.Total.Seconds(), "all-bound-s")
	}
}

// TestProvisionHarness runs the benchmark's harness with three claims so
// that it cannot rot: each is provisioned on the node and bound.
func TestProvisionHarness(t *testing.T) {
	cl := provisionRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := MeasureProvision(ctx, cl.Admin, "default", "local", 3, "1Gi")
	if err != nil {
		t.Fatal(err)
	}
	if res.Claims != 3 || res.P99 <= 0 {
		t.Fatalf("result %+v", res)
	}
	pvs, err := client.For[*v1.PersistentVolume](cl.Admin, "").List(ctx, client.ListOptions{})
	if err != nil || len(pvs.Items) != 3 {
		t.Fatalf("%d volumes, %v; want 3", len(pvs.Items), err)
	}
	for _, pv := range pvs.Items {
		if pv.Annotations[v1.AnnotationVolumeNode] != "bench-node" || pv.Spec.Local == nil {
			t.Fatalf("volume %s not carved on bench-node: %+v", pv.Name, pv.ObjectMeta.Annotations)
		}
	}
}
