package up

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kennel-dev/kennel/internal/volume/calibrate"
)

// runCalibrate is `kennel agent --calibrate-storage DIR`: it measures the
// device and prints the --storage flag to advertise it with.
func runCalibrate(ctx context.Context, o *agentOptions, out, errOut io.Writer) error {
	dir, err := filepath.Abs(o.calibrate)
	if err != nil {
		return fmt.Errorf("--calibrate-storage: %w", err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("--calibrate-storage %s: not a directory", dir)
	}
	fmt.Fprintf(errOut, "Measuring the device under %s with direct I/O (4 tests of %s each)…\n", dir, o.calibrateTime)
	r, err := calibrate.Run(ctx, calibrate.Config{Dir: dir, Duration: o.calibrateTime,
		Progress: func(test string) { fmt.Fprintf(errOut, "  %s\n", test) }})
	if err != nil {
		return err
	}
	bw := func(n int64) string { return resource.NewQuantity(n, resource.BinarySI).String() + "/s" }
	fmt.Fprintf(out, "random 4 KiB:      read %d IOPS, write %d IOPS\n", r.ReadIOPS, r.WriteIOPS)
	fmt.Fprintf(out, "sequential 1 MiB:  read %s, write %s\n", bw(r.ReadBPS), bw(r.WriteBPS))
	// Advertise 80% of the lower figure: the rest is headroom for the
	// node itself and for measurement noise.
	iops := r.IOPS() * 8 / 10
	band := resource.NewQuantity(r.Bandwidth()*8/10/(1<<20)*(1<<20), resource.BinarySI)
	fmt.Fprintf(out, "\nAdvertise it with (80%% of the lower of read and write):\n  --storage %s:iops=%d,bandwidth=%s\n", dir, iops, band)
	return nil
}
