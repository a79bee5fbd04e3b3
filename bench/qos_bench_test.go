package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// qosLevels are the limits the accuracy table measures, three per kind.
var qosLevels = map[QoSKind][]uint64{
	ReadIOPS:       {100, 200, 500},
	WriteIOPS:      {100, 200, 500},
	ReadBandwidth:  {5 << 20, 10 << 20, 20 << 20},
	WriteBandwidth: {5 << 20, 10 << 20, 20 << 20},
}

// BenchmarkVolumeQoS is the QoS accuracy table of docs/performance.md:
// for each kind and level, fio on a loop-backed volume in a cgroup with
// that limit, and beside them the same fio with no limit. Each run is one
// fio of 5 s whatever b.N is; "measured/limit" is the accuracy.
//
//	sudo go test ./bench -run '^$' -bench VolumeQoS -benchtime 1x
func BenchmarkVolumeQoS(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: loop devices, mounts and cgroup I/O limits")
	}
	ctx := context.Background()
	rig, err := NewQoSRig(ctx, b.TempDir(), 512<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer rig.Close(ctx)
	for _, kind := range []QoSKind{ReadIOPS, WriteIOPS, ReadBandwidth, WriteBandwidth} {
		unit := "iops"
		if kind == ReadBandwidth || kind == WriteBandwidth {
			unit = "bytes/s"
		}
		b.Run(fmt.Sprintf("%s/unlimited", kind), func(b *testing.B) {
			got, err := rig.Measure(ctx, kind, 0, 5)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(got, "measured-"+unit)
		})
		for _, limit := range qosLevels[kind] {
			b.Run(fmt.Sprintf("%s/limit=%d", kind, limit), func(b *testing.B) {
				got, err := rig.Measure(ctx, kind, limit, 5)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(got, "measured-"+unit)
				b.ReportMetric(got/float64(limit), "measured/limit")
			})
		}
	}
}
