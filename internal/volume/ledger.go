package volume

import (
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// Demand is what one volume holds, or asks to hold, of a device.
type Demand struct {
	Storage   int64 // bytes
	IOPS      int64 // operations per second, read+write
	Bandwidth int64 // bytes per second, read+write
}

// Add returns the sum of two demands.
func (d Demand) Add(o Demand) Demand {
	return Demand{d.Storage + o.Storage, d.IOPS + o.IOPS, d.Bandwidth + o.Bandwidth}
}

// ClaimDemand is what a claim of a class with QoS q asks of a device.
func ClaimDemand(c *v1.PersistentVolumeClaim, q QoS) Demand {
	d := Demand{IOPS: q.IOPS(), Bandwidth: q.Bandwidth()}
	if s, ok := c.Spec.Resources.Requests[v1.ResourceStorage]; ok {
		d.Storage = s.Value()
	}
	return d
}

// VolumeDemand is what a volume holds of its device: its capacity.
func VolumeDemand(pv *v1.PersistentVolume) Demand {
	var d Demand
	if q, ok := pv.Spec.Capacity[v1.ResourceStorage]; ok {
		d.Storage = q.Value()
	}
	if q, ok := pv.Spec.Capacity[v1.ResourceStorageIOPS]; ok {
		d.IOPS = q.Value()
	}
	if q, ok := pv.Spec.Capacity[v1.ResourceStorageBandwidth]; ok {
		d.Bandwidth = q.Value()
	}
	return d
}

// DeviceKey names one storage device of one node.
type DeviceKey struct{ Node, Device string }

func (k DeviceKey) String() string { return k.Node + "/" + k.Device }

// Ledger is what volumes, and claims selected for a device but not yet
// provisioned, hold of each device. A claim and the volume provisioned for
// it are counted once: entries are keyed by the claim's UID.
type Ledger struct {
	used    map[DeviceKey]Demand
	count   map[DeviceKey]int32
	holders map[string]DeviceKey
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{used: map[DeviceKey]Demand{}, count: map[DeviceKey]int32{}, holders: map[string]DeviceKey{}}
}

// BuildLedger counts every volume that names its node and device, and
// every unbound claim that has a selected node and device. qosOf gives a
// claim's QoS (from its class); it is not called for volumes, which carry
// their reservation in their capacity.
func BuildLedger(pvs []*v1.PersistentVolume, claims []*v1.PersistentVolumeClaim, qosOf func(*v1.PersistentVolumeClaim) QoS) *Ledger {
	l := NewLedger()
	for _, pv := range pvs {
		node, dev := pv.Annotations[v1.AnnotationVolumeNode], pv.Annotations[v1.AnnotationVolumeDevice]
		if node == "" || dev == "" {
			continue
		}
		id := "pv/" + pv.Name
		if r := pv.Spec.ClaimRef; r != nil && r.UID != "" {
			id = r.UID
		}
		l.Add(id, DeviceKey{node, dev}, VolumeDemand(pv))
	}
	for _, c := range claims {
		node, dev := c.Annotations[v1.AnnotationSelectedNode], c.Annotations[v1.AnnotationSelectedDevice]
		if node == "" || dev == "" || c.Spec.VolumeName != "" || c.DeletionTimestamp != nil {
			continue
		}
		l.Add(c.UID, DeviceKey{node, dev}, ClaimDemand(c, qosOf(c)))
	}
	return l
}

// Add counts a holder's demand on a device, once: a holder already
// counted is left as it is.
func (l *Ledger) Add(holder string, k DeviceKey, d Demand) {
	if _, ok := l.holders[holder]; ok {
		return
	}
	l.holders[holder] = k
	l.used[k] = l.used[k].Add(d)
	l.count[k]++
}

// Holds reports whether the holder (a claim UID) is counted, and where.
func (l *Ledger) Holds(holder string) (DeviceKey, bool) {
	k, ok := l.holders[holder]
	return k, ok
}

// Used is what is held of a device, and by how many volumes.
func (l *Ledger) Used(k DeviceKey) (Demand, int32) { return l.used[k], l.count[k] }

// Reasons a device cannot take a demand; the scheduler counts them by
// name.
const (
	ReasonCapacity  = "insufficient storage capacity"
	ReasonIOPS      = "insufficient storage IOPS"
	ReasonBandwidth = "insufficient storage bandwidth"
	ReasonNoDevice  = "no storage device"
)

// Fit says whether a device with used held can also take want, and if not
// the reason. A device that advertises no IOPS (or bandwidth) figure
// cannot take a demand for any: Kennel does not promise what it cannot
// count.
func Fit(dev *v1.NodeStorageDevice, used, want Demand) (bool, string) {
	if used.Storage+want.Storage > dev.Capacity.Value() {
		return false, ReasonCapacity
	}
	if want.IOPS > 0 && (dev.IOPS == nil || used.IOPS+want.IOPS > dev.IOPS.Value()) {
		return false, ReasonIOPS
	}
	if want.Bandwidth > 0 && (dev.Bandwidth == nil || used.Bandwidth+want.Bandwidth > dev.Bandwidth.Value()) {
		return false, ReasonBandwidth
	}
	return true, ""
}

// Request is one claim to place on a device of a node.
type Request struct {
	Holder string // the claim's UID
	Demand Demand
	// Device, when set, is the only device name the claim may use (the
	// class's "device" parameter).
	Device string
}

// Place finds a device of node for each request, given what the ledger
// says is held, and returns the device names in request order. Each
// request goes to the fitting device with the most free IOPS, then
// capacity, so reservations spread. When a request fits nowhere the
// reason is the one of the device that came closest (in device order).
func (l *Ledger) Place(node *v1.Node, reqs []Request) ([]string, error) {
	extra := map[string]Demand{}
	out := make([]string, len(reqs))
	for i, r := range reqs {
		if k, ok := l.holders[r.Holder]; ok && k.Node == node.Name {
			out[i] = k.Device // already placed here
			continue
		}
		best, reason := -1, ReasonNoDevice
		var bestFree Demand
		for j := range node.Status.Storage {
			dev := &node.Status.Storage[j]
			if r.Device != "" && dev.Name != r.Device {
				continue
			}
			used, _ := l.Used(DeviceKey{node.Name, dev.Name})
			used = used.Add(extra[dev.Name])
			ok, why := Fit(dev, used, r.Demand)
			if !ok {
				if reason == ReasonNoDevice {
					reason = why
				}
				continue
			}
			free := Demand{Storage: dev.Capacity.Value() - used.Storage}
			if dev.IOPS != nil {
				free.IOPS = dev.IOPS.Value() - used.IOPS
			}
			if best < 0 || free.IOPS > bestFree.IOPS || (free.IOPS == bestFree.IOPS && free.Storage > bestFree.Storage) {
				best, bestFree = j, free
			}
		}
		if best < 0 {
			return nil, &PlaceError{Reason: reason, Request: i}
		}
		name := node.Status.Storage[best].Name
		extra[name] = extra[name].Add(r.Demand)
		out[i] = name
	}
	return out, nil
}

// PlaceError says why a request fit no device of a node.
type PlaceError struct {
	Reason  string
	Request int
}

func (e *PlaceError) Error() string { return fmt.Sprintf("volume: claim %d: %s", e.Request, e.Reason) }

// Reservations is the per-device reservation report for a node's status.
func (l *Ledger) Reservations(node string, devices []v1.NodeStorageDevice) []v1.NodeStorageDevice {
	out := make([]v1.NodeStorageDevice, len(devices))
	for i, d := range devices {
		used, n := l.Used(DeviceKey{node, d.Name})
		d.Reserved = &v1.StorageReservation{Volumes: n,
			Capacity:  *resourceBytes(used.Storage),
			IOPS:      *resourceCount(used.IOPS),
			Bandwidth: *resourceBytes(used.Bandwidth)}
		out[i] = d
	}
	return out
}
