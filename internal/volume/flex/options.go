package flex

import (
	"encoding/base64"
	"maps"
)

// The option keys the agent passes to drivers (SPECS.md §4).
const (
	OptionFSType             = "kubernetes.io/fsType"
	OptionReadWrite          = "kubernetes.io/readwrite"
	OptionPVOrVolumeName     = "kubernetes.io/pvOrVolumeName"
	OptionPodName            = "kubernetes.io/pod.name"
	OptionPodNamespace       = "kubernetes.io/pod.namespace"
	OptionPodUID             = "kubernetes.io/pod.uid"
	OptionServiceAccountName = "kubernetes.io/serviceAccount.name"
	// OptionSecretPrefix is followed by a key of the volume's secret; the
	// value is base64.
	OptionSecretPrefix = "kubernetes.io/secret/"
)

// Volume is a FlexVolume source: of a PersistentVolume or inline in a pod.
type Volume struct {
	Driver   string // "vendor/driver"
	FSType   string
	ReadOnly bool
	Options  map[string]string
	Name     string // the PV's name, or the pod volume's name
}

// PodInfo is the pod a volume is mounted for.
type PodInfo struct {
	Name, Namespace, UID, ServiceAccount string
}

// Options builds the JSON options of a call: fsType, readwrite (ro|rw) and
// pvOrVolumeName, then the volume's own options (which may override those
// three, as the kubelet allows). With a pod (the mount call) it adds the
// pod's name, namespace, uid and service account, and each secret key
// base64-encoded; these are set last, so a volume's options cannot pose
// as another pod or secret.
func Options(v Volume, pod *PodInfo, secret map[string][]byte) map[string]string {
	rw := "rw"
	if v.ReadOnly {
		rw = "ro"
	}
	opts := map[string]string{OptionFSType: v.FSType, OptionReadWrite: rw, OptionPVOrVolumeName: v.Name}
	maps.Copy(opts, v.Options)
	if pod != nil {
		opts[OptionPodName] = pod.Name
		opts[OptionPodNamespace] = pod.Namespace
		opts[OptionPodUID] = pod.UID
		opts[OptionServiceAccountName] = pod.ServiceAccount
	}
	for k, val := range secret {
		opts[OptionSecretPrefix+k] = base64.StdEncoding.EncodeToString(val)
	}
	return opts
}
