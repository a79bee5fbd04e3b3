package controlplane

import (
	"os"
	"runtime/debug"
	"strconv"
)

// GCPercent is the garbage collector's growth target (GOGC) a control
// plane process runs with unless the operator sets GOGC. A control plane's
// heap is mostly long-lived caches (every object of the cluster, decoded,
// in the API server's and each controller's caches) while it allocates
// fast for each request, so at Go's default of 100 the collector re-marks
// those caches over and over: at 5,000 nodes its background marking alone
// took a tenth of the CPU, and collecting at 200 % growth placed about a
// tenth more pods per second for about a third more resident memory
// (docs/performance.md).
// The extra memory is proportional to the live heap, so it is small on a
// small cluster. GOGC overrides it, and GOMEMLIMIT caps the heap (the
// collector then works harder as it nears the limit).
const GCPercent = 200

// TuneGC sets the collector's target to GCPercent unless GOGC is set, and
// returns the setting in force ("200", or GOGC's value) and whether it
// came from GOGC. Only a command that runs a control plane calls it: it
// changes the whole process.
func TuneGC() (setting string, fromEnv bool) {
	if v := os.Getenv("GOGC"); v != "" {
		return v, true
	}
	debug.SetGCPercent(GCPercent)
	return strconv.Itoa(GCPercent), false
}
