package controller

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
	"github.com/kennel-dev/kennel/internal/federation/placement"
)

// annotationMigrationToken on a Migration is the bearer token the
// target's agents present to the source's agents for the pet's volumes.
const annotationMigrationToken = "kennel.io/migration-token"

// migrationFinalizer holds the deletion of a Migration until it ends: the
// pet is out of its source and not yet in its target meanwhile.
const migrationFinalizer = "kennel.io/migration"

// bySet indexes Migrations by namespace/petSet.
const bySet = "petset"

// migrationPoll is how often an active Migration is looked at again while
// it waits on members (their reports also wake it).
const migrationPoll = 2 * time.Second

// active reports whether a Migration holds its pet: the pet has left the
// source's share and is not settled in the target yet.
func active(m *v1.Migration) bool {
	switch m.Status.Phase {
	case v1.MigrationStopping, v1.MigrationExporting, v1.MigrationCopying, v1.MigrationCleanup:
		return true
	}
	return false
}

// activeMigration is the Migration moving a pet of the PetSet ns/name now.
func (fc *Controller) activeMigration(ns, name string) *v1.Migration {
	for _, m := range fc.migrations.ByIndex(bySet, ns+"/"+name) {
		if active(m) {
			return m
		}
	}
	return nil
}

// syncMigration moves a Migration on a phase when its members report
// the last one done; the Works follow in syncPlacement.
func (fc *Controller) syncMigration(ctx context.Context, key string) error {
	m, ok := fc.migrations.Get(key)
	if !ok {
		return nil
	}
	m = v1.Clone(m)
	if m.Status.Phase == v1.MigrationSucceeded || m.Status.Phase == v1.MigrationFailed {
		return fc.releaseMigration(ctx, m)
	}
	if m.DeletionTimestamp != nil && !active(m) {
		return fc.releaseMigration(ctx, m) // never started: nothing to finish
	}
	works := fc.petSetWorks(m.Namespace, m.Spec.PetSet)
	st := m.Status
	switch st.Phase {
	case "", v1.MigrationPending:
		return fc.startMigration(ctx, m, works)
	case v1.MigrationStopping, v1.MigrationExporting:
		rep := reportOf(works[st.From], m)
		switch {
		case rep == nil || !rep.Stopped:
			st.Phase, st.Message = v1.MigrationStopping, fmt.Sprintf("stopping pet %s in %s", st.Pet, st.From)
		case len(rep.Exports) < claimTemplates(fc.petSet(m)):
			st.Phase, st.Message = v1.MigrationExporting, fmt.Sprintf("pet %s stopped in %s; waiting for its volumes to be offered", st.Pet, st.From)
		default:
			st.Phase, st.Message = v1.MigrationCopying, fmt.Sprintf("copying the volumes of %s from %s to %s", st.Pet, st.From, m.Spec.To)
		}
		if rep != nil && rep.Message != "" {
			st.Message += ": " + rep.Message
		}
	case v1.MigrationCopying:
		rep := reportOf(works[m.Spec.To], m)
		if rep != nil {
			st.Volumes, st.BytesDone, st.BytesTotal = rep.Restores, 0, 0
			for _, r := range rep.Restores {
				st.BytesDone += r.BytesDone
				st.BytesTotal += r.BytesTotal
			}
			if rep.Message != "" {
				st.Message = rep.Message
			}
		}
		if rep != nil && rep.Running {
			st.Phase, st.Message = v1.MigrationCleanup, fmt.Sprintf("pet %s runs in %s; deleting its old claims in %s", st.Pet, m.Spec.To, st.From)
		}
	case v1.MigrationCleanup:
		if rep := reportOf(works[st.From], m); rep != nil && rep.ClaimsDeleted {
			st.Phase, st.Message = v1.MigrationSucceeded, fmt.Sprintf("pet %s runs in %s with its data", st.Pet, m.Spec.To)
			st.CompletionTime = v1.NewTime(fc.clock.Now())
		}
	}
	if m.DeletionTimestamp != nil && active(&v1.Migration{Status: st}) {
		st.Message += " (deleted: the migration ends first, its pet cannot be left half-moved)"
	}
	if err := fc.writeMigrationStatus(ctx, m, st); err != nil {
		return err
	}
	if !active(&v1.Migration{Status: st}) {
		return fc.releaseMigration(ctx, m)
	}
	return controller.RequeueAfter(migrationPoll)
}

// releaseMigration removes the finalizer of a Migration that ended.
func (fc *Controller) releaseMigration(ctx context.Context, m *v1.Migration) error {
	if !slices.Contains(m.Finalizers, migrationFinalizer) {
		return nil
	}
	cur, err := client.For[*v1.Migration](fc.c, m.Namespace).Get(ctx, m.Name)
	if v1.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	cur.Finalizers = slices.DeleteFunc(cur.Finalizers, func(f string) bool { return f == migrationFinalizer })
	if _, err := client.For[*v1.Migration](fc.c, m.Namespace).Update(ctx, cur); err != nil && !v1.IsNotFound(err) {
		return fmt.Errorf("federation controller: migration %s: remove its finalizer: %w", v1.ObjectKey(m), err)
	}
	return nil
}

// startMigration checks that the pet can move and records where from:
// the Works then leave it out of the source's share.
func (fc *Controller) startMigration(ctx context.Context, m *v1.Migration, works map[string]*v1.Work) error {
	from, v := fc.checkMigration(m, fc.petSet(m), works)
	if v.fail {
		// Failing is final, and the caches may be behind the API (a
		// Migration created right after its PetSet or its Placement's
		// Works): the same checks on live reads decide.
		live, err := fc.checkMigrationLive(ctx, m)
		if err != nil {
			return err
		}
		if !live.fail {
			live = waits("waiting for the federation controller's caches to show the PetSet and its Works")
		}
		v = live
	}
	if v.msg != "" {
		st := m.Status
		st.Phase, st.Message = v1.MigrationPending, v.msg
		if v.fail {
			st.Phase = v1.MigrationFailed
		}
		if err := fc.writeMigrationStatus(ctx, m, st); err != nil || v.fail {
			return err
		}
		return controller.RequeueAfter(migrationPoll)
	}
	if m.DeletionTimestamp != nil {
		return fc.releaseMigration(ctx, m)
	}
	m, err := fc.armMigration(ctx, m)
	if err != nil {
		return err
	}
	st := m.Status
	st.Phase, st.From, st.Pet = v1.MigrationStopping, from, fmt.Sprintf("%s-%d", m.Spec.PetSet, m.Spec.Ordinal)
	st.StartTime, st.Message = v1.NewTime(fc.clock.Now()), fmt.Sprintf("stopping pet %s in %s", st.Pet, from)
	if err := fc.writeMigrationStatus(ctx, m, st); err != nil {
		return err
	}
	fc.placementQ.Enqueue(m.Namespace + "/" + works[from].Spec.Placement)
	return controller.RequeueAfter(migrationPoll)
}

// verdict is why a Migration cannot start: it fails, or waits; none
// when msg is empty.
type verdict struct {
	fail bool
	msg  string
}

func failed(format string, args ...any) verdict { return verdict{true, fmt.Sprintf(format, args...)} }
func waits(format string, args ...any) verdict  { return verdict{false, fmt.Sprintf(format, args...)} }

// checkMigrationLive is checkMigration's verdict on the PetSet and its
// Works read from the API rather than from the caches.
func (fc *Controller) checkMigrationLive(ctx context.Context, m *v1.Migration) (verdict, error) {
	set, err := client.For[*v1.PetSet](fc.c, m.Namespace).Get(ctx, m.Spec.PetSet)
	if v1.IsNotFound(err) {
		set, err = nil, nil
	}
	if err != nil {
		return verdict{}, fmt.Errorf("federation controller: migration %s: read PetSet %s: %w", v1.ObjectKey(m), m.Spec.PetSet, err)
	}
	list, err := client.For[*v1.Work](fc.c, "").ListAll(ctx, client.ListOptions{})
	if err != nil {
		return verdict{}, fmt.Errorf("federation controller: migration %s: list Works: %w", v1.ObjectKey(m), err)
	}
	src := sourceKey(v1.ObjectReference{Kind: "PetSet", Namespace: m.Namespace, Name: m.Spec.PetSet})
	works := map[string]*v1.Work{}
	for _, w := range list.Items {
		if sourceKey(w.Spec.Source) == src {
			works[w.Spec.Cluster] = w
		}
	}
	_, v := fc.checkMigration(m, set, works)
	return v, nil
}

// checkMigration says where the pet runs, or why it cannot move (yet).
func (fc *Controller) checkMigration(m *v1.Migration, set *v1.PetSet, works map[string]*v1.Work) (string, verdict) {
	ns, name := m.Namespace, m.Spec.PetSet
	switch {
	case set == nil:
		return "", failed("PetSet %s/%s does not exist on the federation", ns, name)
	case len(works) == 0:
		return "", failed("PetSet %s/%s is not placed in any member: a Migration moves a pet of a PetSet a Placement divides among members", ns, name)
	}
	if _, scaled := set.ClaimRetention(); scaled == v1.DeletePersistentVolumeClaimRetentionPolicyType {
		return "", failed("PetSet %s/%s deletes a pet's claims when it leaves a member (persistentVolumeClaimRetentionPolicy.whenScaled: Delete): its data could not move", ns, name)
	}
	if other := fc.activeMigration(ns, name); other != nil && other.Name != m.Name {
		return "", waits("waiting for Migration %s of the same PetSet to end", other.Name)
	}
	ranges := rangesOf(works)
	k := m.Spec.Ordinal - set.StartOrdinal()
	from := clusterOf(ranges, k)
	switch {
	case m.Spec.Ordinal < set.StartOrdinal() || k >= set.DesiredReplicas():
		return "", failed("spec.ordinal: PetSet %s/%s has no pet %d (ordinals %d to %d)", ns, name, m.Spec.Ordinal, set.StartOrdinal(), set.StartOrdinal()+set.DesiredReplicas()-1)
	case from == "":
		return "", waits("pet %s-%d is not assigned to a member yet", name, m.Spec.Ordinal)
	case from == m.Spec.To:
		return "", failed("spec.to: pet %s-%d already runs in %s", name, m.Spec.Ordinal, from)
	case works[m.Spec.To] == nil:
		return "", failed("spec.to: cluster %q is not one the PetSet's Placement %s chose", m.Spec.To, works[from].Spec.Placement)
	}
	if cl, ok := fc.clusters.Get(m.Spec.To); !ok || !isReady(cl) {
		return "", waits("cluster %s is not Ready", m.Spec.To)
	}
	if cl, ok := fc.clusters.Get(from); !ok || !isReady(cl) {
		return "", waits("cluster %s, where the pet runs, is not Ready: its pet cannot be stopped and its data copied", from)
	}
	if _, ok := moveOrdinal(ranges, k, from, m.Spec.To); !ok {
		return "", failed("spec.ordinal: a member runs one contiguous range of a PetSet's ordinals, so pet %s-%d can move from %s only to a cluster whose range it adjoins or that has none (ranges %s); move the pets at the edge of %s's range first, e.g. with --all",
			name, m.Spec.Ordinal, from, describeRanges(ranges, set.StartOrdinal()), from)
	}
	return from, verdict{}
}

// armMigration gives a starting Migration its token and its finalizer.
func (fc *Controller) armMigration(ctx context.Context, m *v1.Migration) (*v1.Migration, error) {
	if m.Annotations[annotationMigrationToken] != "" && slices.Contains(m.Finalizers, migrationFinalizer) {
		return m, nil
	}
	if m.Annotations[annotationMigrationToken] == "" {
		tok := make([]byte, 32)
		if _, err := rand.Read(tok); err != nil {
			return nil, err
		}
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		m.Annotations[annotationMigrationToken] = hex.EncodeToString(tok)
	}
	if !slices.Contains(m.Finalizers, migrationFinalizer) {
		m.Finalizers = append(m.Finalizers, migrationFinalizer)
	}
	got, err := client.For[*v1.Migration](fc.c, m.Namespace).Update(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("federation controller: migration %s: record its token: %w", v1.ObjectKey(m), err)
	}
	return got, nil
}

func (fc *Controller) writeMigrationStatus(ctx context.Context, m *v1.Migration, st v1.MigrationStatus) error {
	st.ObservedGeneration = m.Generation
	if sameJSONValue(m.Status, st) {
		return nil
	}
	next := v1.Clone(m)
	next.Status = st
	if _, err := client.For[*v1.Migration](fc.c, m.Namespace).UpdateStatus(ctx, next); err != nil {
		return fmt.Errorf("federation controller: migration %s: write its status: %w", v1.ObjectKey(m), err)
	}
	if st.Phase != m.Status.Phase {
		fc.log.Info("migration", "migration", v1.ObjectKey(m), "phase", st.Phase, "message", st.Message)
		typ := v1.EventTypeNormal
		if st.Phase == v1.MigrationFailed {
			typ = v1.EventTypeWarning
		}
		fc.events.Record(ctx, m, "Migration", "kennel.io/v1", typ, string(st.Phase), st.Message)
	}
	return nil
}

func sameJSONValue(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// petSet is the federated PetSet a Migration moves a pet of.
func (fc *Controller) petSet(m *v1.Migration) *v1.PetSet {
	o, ok := fc.objects["PetSet"].Get(m.Namespace + "/" + m.Spec.PetSet)
	if !ok {
		return nil
	}
	ps, _ := o.(*v1.PetSet)
	return ps
}

// petSetWorks are the Works of a federated PetSet, by cluster.
func (fc *Controller) petSetWorks(ns, name string) map[string]*v1.Work {
	out := map[string]*v1.Work{}
	for _, w := range fc.works.ByIndex(bySource, sourceKey(v1.ObjectReference{Kind: "PetSet", Namespace: ns, Name: name})) {
		out[w.Spec.Cluster] = w
	}
	return out
}

// reportOf is what a member reports of migration m on its Work.
func reportOf(w *v1.Work, m *v1.Migration) *v1.WorkMigration {
	if w == nil || w.Status.Migration == nil || w.Status.Migration.ID != string(m.UID) {
		return nil
	}
	return w.Status.Migration
}

func claimTemplates(set *v1.PetSet) int {
	if set == nil {
		return 0
	}
	return len(set.Spec.VolumeClaimTemplates)
}

// rangesOf reads the ordinal ranges (relative to the set's first
// ordinal) the Works hold.
func rangesOf(works map[string]*v1.Work) []placement.Range {
	var out []placement.Range
	for cl, w := range works {
		if st, n, ok := parseRange(w.Annotations[AnnotationOrdinals]); ok {
			out = append(out, placement.Range{Cluster: cl, Start: st, Count: n})
		}
	}
	slices.SortFunc(out, func(a, b placement.Range) int { return int(a.Start - b.Start) })
	return out
}

func clusterOf(ranges []placement.Range, k int32) string {
	for _, r := range ranges {
		if k >= r.Start && k < r.Start+r.Count {
			return r.Cluster
		}
	}
	return ""
}

func describeRanges(ranges []placement.Range, start int32) string {
	s := ""
	for i, r := range ranges {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %s", r.Cluster, formatRange(start+r.Start, r.Count))
	}
	return s
}

// moveOrdinal gives ordinal k (relative) of from's range to to, keeping
// one contiguous range per cluster: k must be at an edge of from's range,
// and to's range must adjoin it or be empty. A k that to holds already
// is left there (the move is done).
func moveOrdinal(ranges []placement.Range, k int32, from, to string) ([]placement.Range, bool) {
	out := slices.Clone(ranges)
	fi := slices.IndexFunc(out, func(r placement.Range) bool { return r.Cluster == from && r.Count > 0 })
	ti := slices.IndexFunc(out, func(r placement.Range) bool { return r.Cluster == to && r.Count > 0 })
	if ti >= 0 && k >= out[ti].Start && k < out[ti].Start+out[ti].Count {
		return out, true
	}
	if fi < 0 {
		return nil, false
	}
	f := &out[fi]
	top, bottom := k == f.Start+f.Count-1, k == f.Start
	if !top && !bottom {
		return nil, false
	}
	switch {
	case ti < 0:
		out = append(out, placement.Range{Cluster: to, Start: k, Count: 1})
	case top && out[ti].Start == k+1:
		out[ti].Start, out[ti].Count = k, out[ti].Count+1
	case bottom && out[ti].Start+out[ti].Count == k:
		out[ti].Count++
	default:
		return nil, false
	}
	f = &out[fi]
	f.Count--
	if bottom {
		f.Start++
	}
	out = slices.DeleteFunc(out, func(r placement.Range) bool { return r.Count == 0 })
	slices.SortFunc(out, func(a, b placement.Range) int { return int(a.Start - b.Start) })
	return out, true
}

// migrationShares applies an active Migration to a divided PetSet's
// shares after gating: the pet is out of the source's share at once, and
// in the target's only once its volumes are offered (Copying); the
// manifests carry what each member must do (AnnotationMigrateOut,
// AnnotationMigrateIn).
func (fc *Controller) migrationShares(m *v1.Migration, set *v1.PetSet, ranges []placement.Range, out map[string]share) {
	start := set.StartOrdinal()
	k := m.Spec.Ordinal - start
	tok := m.Annotations[annotationMigrationToken]
	sum := sha256.Sum256([]byte(tok))
	for _, r := range ranges {
		sh, ok := out[r.Cluster]
		if !ok {
			continue
		}
		cnt, st := r.Count, start+r.Start
		switch r.Cluster {
		case m.Status.From:
			sh.replicas, sh.ordinalStart = &cnt, &st
		case m.Spec.To:
			if m.Status.Phase == v1.MigrationStopping || m.Status.Phase == v1.MigrationExporting {
				cnt--
				if r.Start == k {
					st++
				}
			}
			sh.replicas, sh.ordinalStart = &cnt, &st
		}
		out[r.Cluster] = sh
	}
	if sh, ok := out[m.Status.From]; ok {
		if _, inRanges := rangeOf(ranges, m.Status.From); !inRanges {
			zero := int32(0)
			sh.replicas = &zero
		}
		mo := v1.MigrateOut{ID: string(m.UID), Ordinal: m.Spec.Ordinal, TokenSHA256: hex.EncodeToString(sum[:]), Done: m.Status.Phase == v1.MigrationCleanup}
		sh.annotations = map[string]string{v1.AnnotationMigrateOut: mustJSON(mo)}
		out[m.Status.From] = sh
	}
	if sh, ok := out[m.Spec.To]; ok && (m.Status.Phase == v1.MigrationCopying || m.Status.Phase == v1.MigrationCleanup) {
		mi := v1.MigrateIn{ID: string(m.UID), Ordinal: m.Spec.Ordinal, Sources: map[string]v1.RestoreSource{}}
		if rep := reportOf(fc.petSetWorks(m.Namespace, m.Spec.PetSet)[m.Status.From], m); rep != nil {
			for _, e := range rep.Exports {
				if e.URL == "" {
					continue // the pet had no such claim: it starts empty
				}
				mi.Sources[e.Claim] = v1.RestoreSource{ID: string(m.UID), URL: e.URL, CertSHA256: e.CertSHA256, Token: tok}
			}
		}
		sh.annotations = map[string]string{v1.AnnotationMigrateIn: mustJSON(mi)}
		out[m.Spec.To] = sh
	}
}

func rangeOf(ranges []placement.Range, cluster string) (placement.Range, bool) {
	for _, r := range ranges {
		if r.Cluster == cluster {
			return r, true
		}
	}
	return placement.Range{}, false
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("federation controller: marshal %T: %v", v, err)) // plain structs always marshal
	}
	return string(b)
}
