package member

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"strconv"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
)

// migrationPoll is how often a Work taking part in a migration is synced
// again while the member waits on its pods.
const migrationPoll = time.Second

// migrationOrders reads a PetSet manifest's migration annotations.
func migrationOrders(obj v1.Object) (out *v1.MigrateOut, in *v1.MigrateIn, err error) {
	ann := obj.GetObjectMeta().Annotations
	if s := ann[v1.AnnotationMigrateOut]; s != "" {
		out = &v1.MigrateOut{}
		if err := json.Unmarshal([]byte(s), out); err != nil {
			return nil, nil, fmt.Errorf("member: annotation %s: %w", v1.AnnotationMigrateOut, err)
		}
	}
	if s := ann[v1.AnnotationMigrateIn]; s != "" {
		in = &v1.MigrateIn{}
		if err := json.Unmarshal([]byte(s), in); err != nil {
			return nil, nil, fmt.Errorf("member: annotation %s: %w", v1.AnnotationMigrateIn, err)
		}
	}
	return out, in, nil
}

// stripMigrationOrders removes the orders from the object the member
// gets: they carry a token, and are the agent's business alone.
func stripMigrationOrders(m *v1.ObjectMeta) {
	delete(m.Annotations, v1.AnnotationMigrateOut)
	delete(m.Annotations, v1.AnnotationMigrateIn)
}

// prepareMigrateIn creates (or marks) the claims of a pet migrating in,
// each to be filled from its export before the pet starts. It runs
// before the PetSet that gives the member the pet is applied, so the
// PetSet controller finds the claims instead of making empty ones.
func (w *works) prepareMigrateIn(ctx context.Context, set *v1.PetSet, in *v1.MigrateIn) error {
	if err := w.ensureNamespace(ctx, set.Namespace); err != nil {
		return err
	}
	pvcs := client.For[*v1.PersistentVolumeClaim](w.a.mem, set.Namespace)
	for _, t := range set.Spec.VolumeClaimTemplates {
		name := set.ClaimName(t.Name, in.Ordinal)
		src, ok := in.Sources[name]
		if !ok {
			continue // the pet had no such claim in its source: it starts empty
		}
		restore := mustJSON(src)
		cur, err := pvcs.Get(ctx, name)
		switch {
		case err == nil && cur.Annotations[annotationRestored] == in.ID:
			// Filled, and its pet ran with it: the order is spent.
		case v1.IsNotFound(err):
			labels := maps.Clone(t.Labels)
			if labels == nil {
				labels = map[string]string{}
			}
			if set.Spec.Selector != nil {
				maps.Copy(labels, set.Spec.Selector.MatchLabels)
			}
			ann := maps.Clone(t.Annotations)
			if ann == nil {
				ann = map[string]string{}
			}
			ann[v1.AnnotationRestoreFrom] = restore
			c := &v1.PersistentVolumeClaim{ObjectMeta: v1.ObjectMeta{Name: name, Namespace: set.Namespace, Labels: labels, Annotations: ann}, Spec: t.Spec}
			if _, err := pvcs.Create(ctx, c); err != nil && !v1.IsAlreadyExists(err) {
				return fmt.Errorf("member: migration %s: create claim %s/%s: %w", in.ID, set.Namespace, name, err)
			}
			w.a.log.Info("created a migrating pet's claim, to be filled from its source", "claim", set.Namespace+"/"+name, "source", src.URL)
		case err != nil:
			return fmt.Errorf("member: migration %s: claim %s/%s: %w", in.ID, set.Namespace, name, err)
		case cur.Annotations[v1.AnnotationRestoreFrom] != restore:
			next := v1.Clone(cur)
			if next.Annotations == nil {
				next.Annotations = map[string]string{}
			}
			next.Annotations[v1.AnnotationRestoreFrom] = restore
			if _, err := pvcs.Update(ctx, next); err != nil {
				return fmt.Errorf("member: migration %s: mark claim %s/%s: %w", in.ID, set.Namespace, name, err)
			}
		}
	}
	return nil
}

// migrateInReport says how far a migrating-in pet is: its claims' copy,
// and whether it runs Ready with its data.
func (w *works) migrateInReport(ctx context.Context, set *v1.PetSet, in *v1.MigrateIn) *v1.WorkMigration {
	rep := &v1.WorkMigration{ID: in.ID}
	pet := set.PetName(in.Ordinal)
	pod, err := client.For[*v1.Pod](w.a.mem, set.Namespace).Get(ctx, pet)
	if err != nil {
		rep.Message = fmt.Sprintf("waiting for pod %s in %s", pet, w.a.cfg.Cluster)
		return rep
	}
	done := 0
	for _, r := range pod.Status.VolumeRestores {
		if r.ID != in.ID {
			continue
		}
		rep.Restores = append(rep.Restores, r)
		if r.Done {
			done++
		}
		if r.Message != "" {
			rep.Message = fmt.Sprintf("claim %s: %s", r.Claim, r.Message)
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && rep.Message == "" {
			rep.Message = fmt.Sprintf("pod %s in %s is not scheduled: %s", pet, w.a.cfg.Cluster, c.Message)
		}
	}
	rep.Running = done >= len(in.Sources) && v1.IsPodReady(pod)
	if rep.Running {
		if err := w.spendRestores(ctx, set, in); err != nil {
			rep.Running, rep.Message = false, err.Error()
		}
	}
	return rep
}

// annotationRestored on a claim names the migration that filled it, once
// its pet ran with the data: the restore-from order (and its token) is
// removed then.
const annotationRestored = "kennel.io/restored-by-migration"

// spendRestores removes the restore orders from a migrated pet's claims.
func (w *works) spendRestores(ctx context.Context, set *v1.PetSet, in *v1.MigrateIn) error {
	pvcs := client.For[*v1.PersistentVolumeClaim](w.a.mem, set.Namespace)
	for name := range in.Sources {
		c, err := pvcs.Get(ctx, name)
		if err != nil {
			return fmt.Errorf("member: migration %s: claim %s: %w", in.ID, name, err)
		}
		if c.Annotations[annotationRestored] == in.ID && c.Annotations[v1.AnnotationRestoreFrom] == "" {
			continue
		}
		next := v1.Clone(c)
		delete(next.Annotations, v1.AnnotationRestoreFrom)
		next.Annotations[annotationRestored] = in.ID
		if _, err := pvcs.Update(ctx, next); err != nil {
			return fmt.Errorf("member: migration %s: claim %s: remove its restore order: %w", in.ID, name, err)
		}
	}
	return nil
}

// migrateOutReport handles a pet migrating out: once its pod is gone and
// the member's PetSet leaves it out, its claims are offered (export token
// hash on each) and their exports reported; once the federation says the
// pet runs in its target, they are deleted.
func (w *works) migrateOutReport(ctx context.Context, set *v1.PetSet, cur v1.Object, mo *v1.MigrateOut) (*v1.WorkMigration, error) {
	rep := &v1.WorkMigration{ID: mo.ID}
	pet := set.PetName(mo.Ordinal)
	if ps, ok := cur.(*v1.PetSet); !ok || ps.KeepsOrdinal(mo.Ordinal) {
		rep.Message = fmt.Sprintf("the member's PetSet still runs %s", pet)
		return rep, nil
	}
	_, err := client.For[*v1.Pod](w.a.mem, set.Namespace).Get(ctx, pet)
	if err == nil {
		rep.Message = fmt.Sprintf("waiting for pod %s to stop", pet)
		return rep, nil
	}
	if !v1.IsNotFound(err) {
		return nil, fmt.Errorf("member: migration %s: pod %s: %w", mo.ID, pet, err)
	}
	rep.Stopped = true
	pvcs := client.For[*v1.PersistentVolumeClaim](w.a.mem, set.Namespace)
	if mo.Done {
		return rep, w.deleteMigratedClaims(ctx, set, mo, rep)
	}
	for _, t := range set.Spec.VolumeClaimTemplates {
		name := set.ClaimName(t.Name, mo.Ordinal)
		c, err := pvcs.Get(ctx, name)
		if v1.IsNotFound(err) {
			// Never made: nothing to copy (an export without a URL says so).
			rep.Exports = append(rep.Exports, v1.VolumeExport{ID: mo.ID, Claim: name})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("member: migration %s: claim %s: %w", mo.ID, name, err)
		}
		if c.Annotations[v1.AnnotationExportTokenSHA256] != mo.TokenSHA256 {
			next := v1.Clone(c)
			if next.Annotations == nil {
				next.Annotations = map[string]string{}
			}
			next.Annotations[v1.AnnotationExportTokenSHA256] = mo.TokenSHA256
			if c, err = pvcs.Update(ctx, next); err != nil {
				return nil, fmt.Errorf("member: migration %s: offer claim %s: %w", mo.ID, name, err)
			}
		}
		url, cert, err := w.exportURL(ctx, c)
		if err != nil {
			rep.Message = err.Error()
			return rep, nil
		}
		rep.Exports = append(rep.Exports, v1.VolumeExport{ID: mo.ID, Claim: name, URL: url, CertSHA256: cert})
	}
	return rep, nil
}

// deleteMigratedClaims deletes the offered claims of a pet that runs in
// its target now.
func (w *works) deleteMigratedClaims(ctx context.Context, set *v1.PetSet, mo *v1.MigrateOut, rep *v1.WorkMigration) error {
	pvcs := client.For[*v1.PersistentVolumeClaim](w.a.mem, set.Namespace)
	left := 0
	for _, t := range set.Spec.VolumeClaimTemplates {
		name := set.ClaimName(t.Name, mo.Ordinal)
		c, err := pvcs.Get(ctx, name)
		if v1.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("member: migration %s: claim %s: %w", mo.ID, name, err)
		}
		if c.Annotations[v1.AnnotationExportTokenSHA256] != mo.TokenSHA256 {
			continue // not the claim this migration offered: not ours to delete
		}
		left++
		uid := c.UID
		if _, err := pvcs.Delete(ctx, name, client.DeleteOptions{Preconditions: &client.Preconditions{UID: &uid}}); err != nil && !v1.IsNotFound(err) {
			return fmt.Errorf("member: migration %s: delete claim %s: %w", mo.ID, name, err)
		}
		w.a.log.Info("deleted the claim of a pet that migrated out", "claim", set.Namespace+"/"+name)
	}
	rep.ClaimsDeleted = left == 0
	return nil
}

// exportURL is where the agent of the node holding a claim's volume
// serves it, and that agent's certificate hash.
func (w *works) exportURL(ctx context.Context, c *v1.PersistentVolumeClaim) (string, string, error) {
	if c.Spec.VolumeName == "" {
		return "", "", fmt.Errorf("claim %s is not bound", c.Name)
	}
	pv, err := client.For[*v1.PersistentVolume](w.a.mem, "").Get(ctx, c.Spec.VolumeName)
	if err != nil {
		return "", "", fmt.Errorf("claim %s: volume %s: %w", c.Name, c.Spec.VolumeName, err)
	}
	if pv.Spec.NodeAffinity == nil {
		return "", "", fmt.Errorf("claim %s: volume %s is not a node's local volume: only local volumes migrate", c.Name, pv.Name)
	}
	nodes, err := client.For[*v1.Node](w.a.mem, "").List(ctx, client.ListOptions{})
	if err != nil {
		return "", "", fmt.Errorf("claim %s: list nodes: %w", c.Name, err)
	}
	for i := range nodes.Items {
		n := nodes.Items[i]
		if !pv.Spec.NodeAffinity.Admits(n) {
			continue
		}
		ip := nodeAddress(n)
		port := n.Status.DaemonEndpoints.KubeletEndpoint.Port
		cert := n.Annotations[v1.AnnotationAgentCertSHA256]
		if ip == "" || port == 0 || cert == "" {
			return "", "", fmt.Errorf("claim %s: node %s publishes no agent address or certificate", c.Name, n.Name)
		}
		return fmt.Sprintf("https://%s/volumes/%s/%s", net.JoinHostPort(ip, strconv.Itoa(int(port))), c.Namespace, c.Name), cert, nil
	}
	return "", "", fmt.Errorf("claim %s: no node holds volume %s", c.Name, pv.Name)
}

func nodeAddress(n *v1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == v1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("member: marshal %T: %v", v, err)) // plain structs always marshal
	}
	return string(b)
}

// migrate carries out the migration orders of a PetSet manifest around
// its apply: before, the claims of a pet coming in; after, the report.
type migrate struct {
	set *v1.PetSet
	out *v1.MigrateOut
	in  *v1.MigrateIn
}

func (m *migrate) active() bool { return m != nil && (m.out != nil || m.in != nil) }

// report is the Work's migration status after the apply, and whether to
// look again soon (the member's pods move on their own).
func (w *works) migrationReport(ctx context.Context, m *migrate, cur v1.Object) (*v1.WorkMigration, time.Duration, error) {
	switch {
	case m.out != nil:
		rep, err := w.migrateOutReport(ctx, m.set, cur, m.out)
		if err != nil || rep.ClaimsDeleted || (rep.Stopped && !m.out.Done && len(rep.Exports) == len(m.set.Spec.VolumeClaimTemplates)) {
			return rep, 0, err
		}
		return rep, migrationPoll, nil
	case m.in != nil:
		rep := w.migrateInReport(ctx, m.set, m.in)
		if rep.Running {
			return rep, 0, nil
		}
		return rep, migrationPoll, nil
	}
	return nil, 0, nil
}
