package cgroups

import (
	"fmt"
	"regexp"
	"strconv"
)

// Resources is the complete desired confinement of a group. A zero field
// means "no limit" (or the kernel default) and is written as such, so that
// Update lifts limits that are no longer wanted.
type Resources struct {
	// CPULimitMillis caps CPU time in thousandths of a CPU (500 = half a
	// CPU) with a CFS quota over a 100 ms period. 0 means no cap.
	CPULimitMillis int64
	// CPURequestMillis is the CPU share under contention: cpu.shares
	// max(2, millis*1024/1000) on v1, the equivalent cpu.weight on v2.
	// 0 means the kernel default (1024 shares, weight 100).
	CPURequestMillis int64
	// MemoryLimitBytes is the memory limit; swap is not allowed on top of
	// it where the kernel accounts swap. 0 means no limit.
	MemoryLimitBytes int64
	// PidsLimit caps the number of processes and threads. 0 means no cap.
	PidsLimit int64
	// IO throttles block devices, one entry per device.
	IO []IOLimit
}

// IOLimit throttles one block device. A zero rate means unthrottled.
type IOLimit struct {
	// Device is the block device as "major:minor" ("254:0").
	Device string
	// ReadIOPS and WriteIOPS cap operations per second.
	ReadIOPS, WriteIOPS uint64
	// ReadBPS and WriteBPS cap bytes per second.
	ReadBPS, WriteBPS uint64
}

// The CPU arithmetic shared by v1 and v2.
const (
	cpuPeriodUs   = 100000 // CFS period: 100 ms
	minQuotaUs    = 1000   // the kernel rejects quotas below 1 ms
	minShares     = 2
	maxShares     = 262144
	defaultShares = 1024
	defaultWeight = 100
)

func (r Resources) validate() error {
	fields := []struct {
		name string
		v    int64
	}{
		{"cpuLimitMillis", r.CPULimitMillis},
		{"cpuRequestMillis", r.CPURequestMillis},
		{"memoryLimitBytes", r.MemoryLimitBytes},
		{"pidsLimit", r.PidsLimit},
	}
	for _, f := range fields {
		if f.v < 0 {
			return fmt.Errorf("cgroups: resources.%s: must not be negative, got %d", f.name, f.v)
		}
	}
	seen := make(map[string]bool)
	for i, l := range r.IO {
		if !deviceRE().MatchString(l.Device) {
			return fmt.Errorf("cgroups: resources.io[%d].device: want major:minor, got %q", i, l.Device)
		}
		if seen[l.Device] {
			return fmt.Errorf("cgroups: resources.io[%d].device: %s listed twice", i, l.Device)
		}
		seen[l.Device] = true
	}
	return nil
}

func deviceRE() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+:[0-9]+$`) }

// cpuQuotaUs is the CFS quota per 100 ms period for a limit in millicores.
func cpuQuotaUs(millis int64) int64 {
	return max(minQuotaUs, millis*cpuPeriodUs/1000)
}

// CPUShares is the v1 cpu.shares for a request in millicores; 0 is the
// kernel default.
func CPUShares(millis int64) int64 {
	if millis == 0 {
		return defaultShares
	}
	return min(maxShares, max(minShares, millis*1024/1000))
}

// CPUWeight is the v2 cpu.weight for a request in millicores: the v1
// shares mapped linearly from [2, 262144] onto [1, 10000], as runc does.
// 0 is the kernel default.
func CPUWeight(millis int64) int64 {
	if millis == 0 {
		return defaultWeight
	}
	return 1 + ((CPUShares(millis)-2)*9999)/262142
}

// setting is one value to write into a group's file.
type setting struct {
	ctrl  string // v1 controller whose hierarchy holds the file; unused on v2
	file  string
	value string
	// optional settings are skipped where the controller or the file is
	// absent: defaults that restore "no limit", and the swap limits, which
	// exist only where the kernel accounts swap.
	optional bool
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// v1Settings spells r in v1 files, in the order they must be written.
func v1Settings(r Resources) []setting {
	var s []setting
	if r.CPULimitMillis > 0 {
		s = append(s,
			setting{"cpu", "cpu.cfs_period_us", itoa(cpuPeriodUs), false},
			setting{"cpu", "cpu.cfs_quota_us", itoa(cpuQuotaUs(r.CPULimitMillis)), false})
	} else {
		s = append(s, setting{"cpu", "cpu.cfs_quota_us", "-1", true})
	}
	s = append(s, setting{"cpu", "cpu.shares", itoa(CPUShares(r.CPURequestMillis)), r.CPURequestMillis == 0})
	// memsw (memory+swap) must never be below the memory limit, so it is
	// lifted first and lowered to the limit last.
	s = append(s, setting{"memory", "memory.memsw.limit_in_bytes", "-1", true})
	if r.MemoryLimitBytes > 0 {
		s = append(s,
			setting{"memory", "memory.limit_in_bytes", itoa(r.MemoryLimitBytes), false},
			setting{"memory", "memory.memsw.limit_in_bytes", itoa(r.MemoryLimitBytes), true})
	} else {
		s = append(s, setting{"memory", "memory.limit_in_bytes", "-1", true})
	}
	return append(s, pidsSetting(r.PidsLimit))
}

// v2Settings spells r in v2 files.
func v2Settings(r Resources) []setting {
	var s []setting
	if r.CPULimitMillis > 0 {
		s = append(s, setting{"cpu", "cpu.max", fmt.Sprintf("%d %d", cpuQuotaUs(r.CPULimitMillis), cpuPeriodUs), false})
	} else {
		s = append(s, setting{"cpu", "cpu.max", fmt.Sprintf("max %d", cpuPeriodUs), true})
	}
	s = append(s, setting{"cpu", "cpu.weight", itoa(CPUWeight(r.CPURequestMillis)), r.CPURequestMillis == 0})
	if r.MemoryLimitBytes > 0 {
		s = append(s,
			setting{"memory", "memory.max", itoa(r.MemoryLimitBytes), false},
			setting{"memory", "memory.swap.max", "0", true})
	} else {
		s = append(s,
			setting{"memory", "memory.max", "max", true},
			setting{"memory", "memory.swap.max", "max", true})
	}
	return append(s, pidsSetting(r.PidsLimit))
}

func pidsSetting(limit int64) setting {
	if limit > 0 {
		return setting{"pids", "pids.max", itoa(limit), false}
	}
	return setting{"pids", "pids.max", "max", true}
}
