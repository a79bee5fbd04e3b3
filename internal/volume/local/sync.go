package local

import (
	"context"
	"fmt"
	"path/filepath"

	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/volume"
)

// Event reasons, Kubernetes' where it has them.
const (
	ReasonProvisioningSucceeded = "ProvisioningSucceeded"
	ReasonProvisioningFailed    = "ProvisioningFailed"
	ReasonVolumeFailedDelete    = "VolumeFailedDelete"
)

// VolumeName is the name of the volume provisioned for a claim.
func VolumeName(claimUID string) string { return "pvc-" + claimUID }

// plan is what provisioning one claim takes.
type plan struct {
	claim  *v1.PersistentVolumeClaim
	class  *v1.StorageClass
	device *v1.NodeStorageDevice
	qos    volume.QoS
	demand volume.Demand
	fsType string
}

// syncClaim provisions the volume of a claim selected for this node.
func (p *Provisioner) syncClaim(ctx context.Context, key string) error {
	c, ok := p.claims.Get(key)
	if !ok || !p.selected(c) {
		return nil
	}
	class, ok := p.classes.Get(*c.Spec.StorageClassName)
	if !ok || class.Provisioner != v1.ProvisionerLocal {
		return nil // onClass looks again if the class appears
	}
	name := VolumeName(c.UID)
	if p.known(name) {
		return nil // provisioned; the binding controller takes it from here
	}
	// The cache may lag a deletion; a volume made for a claim that is
	// gone would be released and deleted again, but need not be made.
	live, err := client.For[*v1.PersistentVolumeClaim](p.cfg.Client, c.Namespace).Get(ctx, c.Name)
	if v1.IsNotFound(err) || (err == nil && (live.UID != c.UID || !p.selected(live))) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("local: claim %s: %w", key, err)
	}
	pl, err := p.plan(live, class)
	if err == nil {
		err = p.provision(ctx, pl, name)
	}
	if err != nil {
		p.rec.Recordf(ctx, live, "PersistentVolumeClaim", "v1", v1.EventTypeWarning, ReasonProvisioningFailed,
			"cannot provision a volume for claim %s on node %s: %v", key, p.cfg.NodeName, err)
		return fmt.Errorf("local: claim %s: %w", key, err)
	}
	return nil
}

// known reports whether the volume exists, as far as this node knows.
func (p *Provisioner) known(name string) bool {
	if _, ok := p.volumes.Get(name); ok {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.made[name]
	return ok
}

// plan checks that the claim can be carved from its selected device now:
// the device is this node's, the class is valid, and the device still
// has room for it besides every volume already carved from it.
func (p *Provisioner) plan(c *v1.PersistentVolumeClaim, class *v1.StorageClass) (*plan, error) {
	devName := c.Annotations[v1.AnnotationSelectedDevice]
	if devName == "" {
		return nil, fmt.Errorf("annotation %s is not set", v1.AnnotationSelectedDevice)
	}
	var dev *v1.NodeStorageDevice
	for i := range p.cfg.Devices {
		if p.cfg.Devices[i].Name == devName {
			dev = &p.cfg.Devices[i]
		}
	}
	if dev == nil {
		return nil, fmt.Errorf("device %q is not a storage device of node %s", devName, p.cfg.NodeName)
	}
	if m := c.Spec.VolumeMode; m != nil && *m == v1.PersistentVolumeBlock {
		return nil, fmt.Errorf("volumeMode %s is not supported by %s", *m, v1.ProvisionerLocal)
	}
	if want := class.Parameters[v1.ParamDevice]; want != "" && want != devName {
		return nil, fmt.Errorf("storageclass %s allows only device %q, not %q", class.Name, want, devName)
	}
	q, err := volume.ClassQoS(class)
	if err != nil {
		return nil, err
	}
	pl := &plan{claim: c, class: class, device: dev, qos: q, demand: volume.ClaimDemand(c, q),
		fsType: class.Parameters[v1.ParamFSType]}
	if pl.fsType != "" {
		if err := checkFSType(pl.fsType); err != nil {
			return nil, err
		}
	}
	// Every volume carved here, but for the claim's own (a retry after
	// a crash); claims selected but not provisioned yet do not count:
	// provisioning them in turn is what decides which of them fit.
	var pvs []*v1.PersistentVolume
	for _, pv := range p.knownVolumes() {
		if r := pv.Spec.ClaimRef; r == nil || r.UID != c.UID {
			pvs = append(pvs, pv)
		}
	}
	used, _ := volume.BuildLedger(pvs, nil, p.qosOf).Used(volume.DeviceKey{Node: p.cfg.NodeName, Device: devName})
	if ok, reason := volume.Fit(dev, used, pl.demand); !ok {
		return nil, fmt.Errorf("device %s: %s", devName, fitDetail(dev, used, pl.demand, reason))
	}
	return pl, nil
}

// fitDetail says by how much a demand does not fit a device.
func fitDetail(dev *v1.NodeStorageDevice, used, want volume.Demand, reason string) string {
	bytes := func(n int64) string { return resource.NewQuantity(n, resource.BinarySI).String() }
	switch {
	case reason == volume.ReasonCapacity:
		return fmt.Sprintf("%s (wants %s; %s of %s held)", reason, bytes(want.Storage), bytes(used.Storage), dev.Capacity.String())
	case reason == volume.ReasonIOPS && dev.IOPS == nil:
		return fmt.Sprintf("%s (wants %d IOPS; the device advertises no IOPS)", reason, want.IOPS)
	case reason == volume.ReasonIOPS:
		return fmt.Sprintf("%s (wants %d IOPS; %d of %s held)", reason, want.IOPS, used.IOPS, dev.IOPS.String())
	case reason == volume.ReasonBandwidth && dev.Bandwidth == nil:
		return fmt.Sprintf("%s (wants %s/s; the device advertises no bandwidth)", reason, bytes(want.Bandwidth))
	case reason == volume.ReasonBandwidth:
		return fmt.Sprintf("%s (wants %s/s; %s/s of %s/s held)", reason, bytes(want.Bandwidth), bytes(used.Bandwidth), dev.Bandwidth.String())
	}
	return reason
}

// provision carves the volume and creates its object; when the object
// cannot be created the data is removed again.
func (p *Provisioner) provision(ctx context.Context, pl *plan, name string) error {
	path, err := Provision(ctx, pl.device.Path, name, pl.demand.Storage, pl.fsType)
	if err != nil {
		return err
	}
	pvs := client.For[*v1.PersistentVolume](p.cfg.Client, "")
	created, err := pvs.Create(ctx, p.newVolume(pl, name, path))
	if v1.IsAlreadyExists(err) {
		return nil // made by an earlier run that did not see it through
	}
	if err != nil {
		// The data goes only when the create was certainly refused: one
		// whose answer was lost may have happened, and the retry, finding
		// the volume, must find its data too (Provision is idempotent).
		switch v1.ReasonOf(err) {
		case v1.ReasonInvalid, v1.ReasonForbidden, v1.ReasonBadRequest:
		default:
			return fmt.Errorf("create persistentvolume %s: %w", name, err)
		}
		if derr := Delete(ctx, path); derr != nil {
			p.log.Warn("cannot remove the data of a volume not created", "volume", name, "path", path, "err", derr)
		}
		return fmt.Errorf("create persistentvolume %s: %w", name, err)
	}
	p.mu.Lock()
	p.made[name] = created
	p.mu.Unlock()
	shape := "directory"
	if pl.fsType != "" {
		shape = pl.fsType + " loop image"
	}
	p.rec.Recordf(ctx, pl.claim, "PersistentVolumeClaim", "v1", v1.EventTypeNormal, ReasonProvisioningSucceeded,
		"Successfully provisioned volume %s (%s) on device %s of node %s", name, shape, pl.device.Name, p.cfg.NodeName)
	p.log.Info("provisioned volume", "volume", name, "claim", v1.ObjectKey(pl.claim), "device", pl.device.Name, "path", path)
	return nil
}

// newVolume is the volume object of a provisioned claim.
func (p *Provisioner) newVolume(pl *plan, name, path string) *v1.PersistentVolume {
	c := pl.claim
	ann := map[string]string{
		v1.AnnotationProvisionedBy: v1.ProvisionerLocal,
		v1.AnnotationVolumeNode:    p.cfg.NodeName,
		v1.AnnotationVolumeDevice:  pl.device.Name,
	}
	pl.qos.Annotate(ann)
	capacity := v1.ResourceList{v1.ResourceStorage: c.Spec.Resources.Requests[v1.ResourceStorage]}
	if n := pl.qos.IOPS(); n > 0 {
		capacity[v1.ResourceStorageIOPS] = *resource.NewQuantity(n, resource.DecimalSI)
	}
	if n := pl.qos.Bandwidth(); n > 0 {
		capacity[v1.ResourceStorageBandwidth] = *resource.NewQuantity(n, resource.BinarySI)
	}
	src := &v1.LocalVolumeSource{Path: path}
	if pl.fsType != "" {
		fsType := pl.fsType
		src.FSType = &fsType
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if pl.class.ReclaimPolicy != nil {
		reclaim = *pl.class.ReclaimPolicy
	}
	return &v1.PersistentVolume{
		ObjectMeta: v1.ObjectMeta{Name: name, Annotations: ann},
		Spec: v1.PersistentVolumeSpec{
			Capacity:               capacity,
			PersistentVolumeSource: v1.PersistentVolumeSource{Local: src},
			AccessModes:            append([]v1.PersistentVolumeAccessMode(nil), c.Spec.AccessModes...),
			ClaimRef: &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: c.Namespace, Name: c.Name, UID: c.UID},
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              pl.class.Name,
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{p.cfg.NodeName}}},
			}}}},
		},
	}
}

// syncVolume deletes a released volume of this node whose reclaim policy
// is Delete: its data, then its object.
func (p *Provisioner) syncVolume(ctx context.Context, name string) error {
	pv, ok := p.volumes.Get(name)
	if !ok || !p.reclaimable(pv) {
		return nil
	}
	return p.reclaim(ctx, pv)
}

// reclaimable reports whether pv is a released volume of this node whose
// reclaim policy is Delete.
func (p *Provisioner) reclaimable(pv *v1.PersistentVolume) bool {
	return p.mine(pv) && pv.Status.Phase == v1.VolumeReleased &&
		pv.Spec.PersistentVolumeReclaimPolicy == v1.PersistentVolumeReclaimDelete
}

// reclaim deletes the data, then the object, of pv, a version judged
// reclaimable from the cache — only if the API server still holds that
// very version. The cache may be behind an administrator's change (the
// policy set to Retain to keep the data, the claim reference cleared to
// bind it again), and the data is the one thing that cannot be brought
// back; a newer version comes through the informer to be judged again.
func (p *Provisioner) reclaim(ctx context.Context, pv *v1.PersistentVolume) error {
	name := pv.Name
	volumes := client.For[*v1.PersistentVolume](p.cfg.Client, "")
	live, err := volumes.Get(ctx, name)
	switch {
	case v1.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("local: volume %s: read before deleting its data: %w", name, err)
	case live.UID != pv.UID || live.ResourceVersion != pv.ResourceVersion:
		return nil
	}
	path, err := p.dataPath(pv)
	if err != nil {
		// The volume's spec cannot change, so retrying cannot help.
		p.rec.Recordf(ctx, pv, "PersistentVolume", "v1", v1.EventTypeWarning, ReasonVolumeFailedDelete,
			"not deleting the data of volume %s: %v", name, err)
		return nil
	}
	if err := Delete(ctx, path); err != nil {
		p.rec.Recordf(ctx, pv, "PersistentVolume", "v1", v1.EventTypeWarning, ReasonVolumeFailedDelete,
			"cannot delete the data of volume %s on node %s: %v", name, p.cfg.NodeName, err)
		return fmt.Errorf("local: volume %s: %w", name, err)
	}
	uid, rv := pv.UID, pv.ResourceVersion
	_, err = volumes.Delete(ctx, name, client.DeleteOptions{Preconditions: &client.Preconditions{UID: &uid, ResourceVersion: &rv}})
	switch {
	case v1.IsConflict(err):
		// Changed in the instant between the read and the deletion of
		// its data: the object stays, for its owner to see.
		p.log.Warn("volume changed while its data was deleted", "volume", name, "path", path)
		p.rec.Recordf(ctx, pv, "PersistentVolume", "v1", v1.EventTypeWarning, ReasonVolumeFailedDelete,
			"the data of volume %s was deleted as it was Released with reclaim policy Delete, and the volume changed meanwhile; its object is kept", name)
		return nil
	case err != nil && !v1.IsNotFound(err):
		return fmt.Errorf("local: delete persistentvolume %s: %w", name, err)
	}
	p.log.Info("deleted released volume", "volume", name, "path", path)
	return nil
}

// dataPath is where a volume of this node keeps its data. It is checked
// against where Provision would have put it, so that a volume object
// naming any other path cannot have that path removed.
func (p *Provisioner) dataPath(pv *v1.PersistentVolume) (string, error) {
	if pv.Spec.Local == nil {
		return "", fmt.Errorf("it has no local source")
	}
	devName := pv.Annotations[v1.AnnotationVolumeDevice]
	for _, d := range p.cfg.Devices {
		if d.Name != devName {
			continue
		}
		want := filepath.Join(d.Path, VolumesDir, pv.Name)
		if fs := pv.Spec.Local.FSType; fs != nil && *fs != "" {
			want += ImageSuffix
		}
		if pv.Spec.Local.Path != want {
			return "", fmt.Errorf("local path %s is not where kennel.io/local keeps it (%s)", pv.Spec.Local.Path, want)
		}
		return want, nil
	}
	return "", fmt.Errorf("device %q is not a storage device of node %s", devName, p.cfg.NodeName)
}
