package volume

import (
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// QoS is the I/O a volume may do: IOPS and bytes per second, read and
// write apart. Zero means no limit. A volume reserves the sums
// (ReadIOPS+WriteIOPS, ReadBPS+WriteBPS) on its device, because reads and
// writes draw on one device's capacity.
type QoS struct {
	ReadIOPS, WriteIOPS int64
	ReadBPS, WriteBPS   int64
}

// IsZero reports whether the QoS limits nothing.
func (q QoS) IsZero() bool { return q == QoS{} }

// IOPS is the I/O operations per second the volume reserves.
func (q QoS) IOPS() int64 { return q.ReadIOPS + q.WriteIOPS }

// Bandwidth is the bytes per second the volume reserves.
func (q QoS) Bandwidth() int64 { return q.ReadBPS + q.WriteBPS }

// qosKeys pairs each QoS field with its class parameter and volume
// annotation.
func (q *QoS) keys() []struct {
	param, annotation string
	v                 *int64
} {
	return []struct {
		param, annotation string
		v                 *int64
	}{
		{v1.ParamReadIOPS, v1.AnnotationQoSReadIOPS, &q.ReadIOPS},
		{v1.ParamWriteIOPS, v1.AnnotationQoSWriteIOPS, &q.WriteIOPS},
		{v1.ParamReadBandwidth, v1.AnnotationQoSReadBandwidth, &q.ReadBPS},
		{v1.ParamWriteBandwidth, v1.AnnotationQoSWriteBandwidth, &q.WriteBPS},
	}
}

// ClassQoS reads the QoS parameters of a class. A malformed value is an
// error naming the parameter.
func ClassQoS(sc *v1.StorageClass) (QoS, error) {
	var q QoS
	for _, k := range q.keys() {
		s, ok := sc.Parameters[k.param]
		if !ok {
			continue
		}
		n, err := ParseQoSValue(s)
		if err != nil {
			return QoS{}, fmt.Errorf("volume: storageclass %q: parameters.%s: %w", sc.Name, k.param, err)
		}
		*k.v = n
	}
	return q, nil
}

// VolumeQoS reads the QoS annotations of a volume.
func VolumeQoS(pv *v1.PersistentVolume) (QoS, error) {
	var q QoS
	for _, k := range q.keys() {
		s, ok := pv.Annotations[k.annotation]
		if !ok {
			continue
		}
		n, err := ParseQoSValue(s)
		if err != nil {
			return QoS{}, fmt.Errorf("volume: persistentvolume %q: annotation %s: %w", pv.Name, k.annotation, err)
		}
		*k.v = n
	}
	return q, nil
}

// Annotate records the QoS as volume annotations (only the limits that
// are set).
func (q QoS) Annotate(ann map[string]string) {
	for _, k := range q.keys() {
		if *k.v > 0 {
			ann[k.annotation] = resource.NewQuantity(*k.v, resource.BinarySI).String()
		}
	}
}

// ParseQoSValue parses an IOPS count ("200") or a bandwidth in bytes per
// second ("50Mi", "1G"): a non-negative whole quantity.
func ParseQoSValue(s string) (int64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a quantity (want e.g. \"200\" or \"50Mi\")", s)
	}
	n, ok := q.AsInt64()
	if !ok || q.Sign() < 0 {
		return 0, fmt.Errorf("%q must be a non-negative whole number", s)
	}
	return n, nil
}
