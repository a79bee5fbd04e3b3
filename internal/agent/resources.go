package agent

import (
	"bufio"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/api/resource"
)

// capacity is what the node offers: CPU and memory from the kernel unless
// configured, pods, and the network bandwidth that may be reserved.
func (a *Agent) capacity() v1.ResourceList {
	cpu := resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI)
	if a.cfg.CPU != nil {
		cpu = a.cfg.CPU
	}
	mem := resource.NewQuantity(memTotal(), resource.BinarySI)
	if a.cfg.Memory != nil {
		mem = a.cfg.Memory
	}
	list := v1.ResourceList{
		v1.ResourceCPU:    *cpu,
		v1.ResourceMemory: *mem,
		v1.ResourcePods:   *resource.NewQuantity(a.cfg.MaxPods, resource.DecimalSI),
	}
	if n := a.cfg.Network; n != nil && n.Bandwidth != nil {
		list[v1.ResourceNetworkBandwidth] = *n.Bandwidth
	}
	return list
}

// memTotal is MemTotal from /proc/meminfo in bytes (0 if unreadable).
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// ParseStorage parses a --storage flag value,
// "PATH:iops=N,bandwidth=Q[,capacity=Q][,name=S][,media=SSD]", into a
// device. The device number (for cgroup io limits) and, unless given, the
// capacity come from the filesystem at PATH.
func ParseStorage(s string, index int) (v1.NodeStorageDevice, error) {
	path, opts, _ := strings.Cut(s, ":")
	d := v1.NodeStorageDevice{Name: fmt.Sprintf("data%d", index), Path: path, MediaType: v1.MediaTypeSSD}
	if path == "" || path[0] != '/' {
		return d, fmt.Errorf("agent: --storage %q: PATH must be an absolute directory", s)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return d, fmt.Errorf("agent: --storage %q: %w", s, err)
	}
	d.Device = wholeDisk(unix.Major(st.Dev), unix.Minor(st.Dev))
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err == nil {
		d.Capacity = *resource.NewQuantity(int64(fs.Blocks)*fs.Bsize, resource.BinarySI)
	}
	for _, kv := range strings.Split(opts, ",") {
		if kv == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return d, fmt.Errorf("agent: --storage %q: option %q is not key=value", s, kv)
		}
		switch k {
		case "name":
			d.Name = val
		case "media":
			d.MediaType = v1.StorageMediaType(val)
		case "iops", "bandwidth", "capacity":
			q, err := resource.ParseQuantity(val)
			if err != nil || q.Sign() < 0 {
				return d, fmt.Errorf("agent: --storage %q: %s %q is not a non-negative quantity", s, k, val)
			}
			switch k {
			case "iops":
				d.IOPS = &q
			case "bandwidth":
				d.Bandwidth = &q
			default:
				d.Capacity = q
			}
		default:
			return d, fmt.Errorf("agent: --storage %q: unknown option %q (want iops, bandwidth, capacity, name, media)", s, k)
		}
	}
	switch d.MediaType {
	case v1.MediaTypeHDD, v1.MediaTypeSSD, v1.MediaTypeNVMe:
	default:
		return d, fmt.Errorf("agent: --storage %q: media %q is not HDD, SSD or NVMe", s, d.MediaType)
	}
	return d, nil
}

// wholeDisk names the disk a filesystem's device belongs to: cgroup io
// limits apply to whole disks, not partitions.
func wholeDisk(major, minor uint32) string {
	dev := fmt.Sprintf("%d:%d", major, minor)
	if _, err := os.Stat("/sys/dev/block/" + dev + "/partition"); err != nil {
		return dev
	}
	b, err := os.ReadFile("/sys/dev/block/" + dev + "/../dev")
	if err != nil {
		return dev
	}
	return strings.TrimSpace(string(b))
}

// ParseBandwidth parses a network bandwidth such as "10Gbit", "500Mbit" or
// a plain number of bits per second, into bits per second.
func ParseBandwidth(s string) (resource.Quantity, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"Gbit", 1e9}, {"Mbit", 1e6}, {"Kbit", 1e3}, {"kbit", 1e3}, {"bit", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v < 0 {
				return resource.Quantity{}, fmt.Errorf("agent: network bandwidth %q: %q is not a non-negative number", s, n)
			}
			return *resource.NewQuantity(int64(v*float64(u.mult)), resource.DecimalSI), nil
		}
	}
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() < 0 {
		return resource.Quantity{}, fmt.Errorf("agent: network bandwidth %q: want bits per second such as 10Gbit, 500Mbit or 1e9", s)
	}
	return q, nil
}

// DiscoverNetwork reads the speed of the interface of the default route
// from sysfs, for nodes that do not say their bandwidth. It returns nil
// where the kernel does not know (virtual interfaces often report -1).
func DiscoverNetwork() *v1.NodeNetwork {
	iface := defaultRouteInterface()
	if iface == "" {
		return nil
	}
	b, err := os.ReadFile("/sys/class/net/" + iface + "/speed")
	if err != nil {
		return nil
	}
	mbit, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || mbit <= 0 {
		return nil
	}
	q := resource.NewQuantity(mbit*1e6, resource.DecimalSI)
	return &v1.NodeNetwork{Interface: iface, Bandwidth: q}
}

func defaultRouteInterface() string {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 2 && fields[1] == "00000000" {
			return fields[0]
		}
	}
	return ""
}
