package cgroups

import (
	"fmt"
	"time"
)

// CheckCPULimit judges, from a group's Stats at the start and the end of a
// window of elapsed time, whether the kernel held the group to a CPU limit
// of millis while it tried to use more, and returns the CPUs it used.
//
// A loaded machine may give the group less than its limit, which is not
// the limit's doing, so the limit is judged by what it controls: the group
// never used more than the limit (+10%), it was throttled, and in every
// period in which it was throttled it had used its whole quota (-10%), so a
// quota set lower than the limit is caught too. On an idle machine this
// amounts to the limit ± 10%.
func CheckCPULimit(first, last Stats, elapsed time.Duration, millis int64) (cpus float64, err error) {
	used := last.CPUUsage - first.CPUUsage
	periods := last.CPUPeriods - first.CPUPeriods
	throttled := last.CPUThrottledPeriods - first.CPUThrottledPeriods
	cpus = float64(used) / float64(elapsed)
	limit := float64(millis) / 1000
	quota := time.Duration(cpuQuotaUs(millis)) * time.Microsecond
	switch {
	case cpus > limit*1.1:
		return cpus, fmt.Errorf("cgroups: the group limited to %dm used %.3f CPU over %v", millis, cpus, elapsed)
	case periods == 0 || throttled == 0:
		return cpus, fmt.Errorf("cgroups: the group limited to %dm was throttled in %d of %d periods over %v: its limit did not hold it back", millis, throttled, periods, elapsed)
	case used < time.Duration(throttled)*quota*9/10:
		return cpus, fmt.Errorf("cgroups: the group limited to %dm used %v CPU in %d throttled periods, less than its %v quota in each: its quota is lower than its limit", millis, used, throttled, quota)
	}
	return cpus, nil
}
