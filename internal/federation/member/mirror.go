package member

import (
	"context"
	"fmt"
	"maps"
	"reflect"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller"
)

// mirror copies the federation's FederatedEndpoints into the member's
// NamespaceFederation, so the member's DNS server answers federated
// names even when the federation is unreachable. Its keys are names.
type mirror struct {
	a    *agent
	ctrl *controller.Controller
	// src is the federation's FederatedEndpoints; copies, the member's
	// copies (those with the federation label).
	src    *client.Informer[*v1.FederatedEndpoints]
	copies *client.Informer[*v1.FederatedEndpoints]
}

func newMirror(a *agent) (*mirror, error) {
	m := &mirror{a: a}
	ctrl, err := a.newController("federation-endpoints-mirror", m.sync)
	if err != nil {
		return nil, err
	}
	m.ctrl = ctrl
	byName := func(obj any) (string, bool) {
		o, ok := obj.(v1.Object)
		if !ok {
			return "", false
		}
		return o.GetObjectMeta().Name, true
	}
	m.src = client.NewInformer(client.For[*v1.FederatedEndpoints](a.fed, v1.NamespaceFederation), client.ListOptions{}, a.log)
	m.src.AddHandler(ctrl.Handler(byName))
	m.copies = client.NewInformer(client.For[*v1.FederatedEndpoints](a.mem, v1.NamespaceFederation),
		client.ListOptions{LabelSelector: v1.LabelFederation + "=" + a.federation}, a.log)
	m.copies.AddHandler(ctrl.Handler(byName))
	return m, nil
}

// run syncs once both caches are filled: a copy whose original is not
// in the federation's list is deleted only after that list was read.
func (m *mirror) run(ctx context.Context) {
	go m.src.Run(ctx)
	go m.copies.Run(ctx)
	if !m.src.WaitForSync(ctx) || !m.copies.WaitForSync(ctx) {
		return
	}
	if err := m.ctrl.Run(ctx); err != nil {
		m.a.log.Error("endpoints mirror failed", "err", err)
	}
}

func (m *mirror) sync(ctx context.Context, name string) error {
	key := v1.NamespaceFederation + "/" + name
	src, ok := m.src.Get(key)
	cur, have := m.copies.Get(key)
	copies := client.For[*v1.FederatedEndpoints](m.a.mem, v1.NamespaceFederation)
	if !ok {
		if !have {
			return nil
		}
		_, err := copies.Delete(ctx, name, client.DeleteOptions{Preconditions: &client.Preconditions{UID: &cur.UID}})
		if err = ignoreNotFound(err); err != nil && !v1.IsConflict(err) {
			return fmt.Errorf("member: delete mirrored FederatedEndpoints %s: %w", name, err)
		}
		return nil
	}
	labels := maps.Clone(src.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1.LabelFederation] = m.a.federation
	if have && maps.Equal(cur.Labels, labels) && reflect.DeepEqual(jsonOf(cur.Spec), jsonOf(src.Spec)) {
		return nil
	}
	var err error
	if have {
		next := v1.Clone(cur)
		next.Labels, next.Spec = labels, v1.Clone(src).Spec
		_, err = copies.Update(ctx, next)
	} else {
		err = m.create(ctx, &v1.FederatedEndpoints{
			ObjectMeta: v1.ObjectMeta{Name: name, Namespace: v1.NamespaceFederation, Labels: labels},
			Spec:       v1.Clone(src).Spec,
		})
	}
	if err != nil {
		return fmt.Errorf("member: mirror FederatedEndpoints %s: %w", name, err)
	}
	return nil
}

// create writes a new copy. A FederatedEndpoints of that name without
// the federation label is the member's own: it is left alone.
func (m *mirror) create(ctx context.Context, fe *v1.FederatedEndpoints) error {
	if err := ensureNamespace(ctx, m.a.mem, v1.NamespaceFederation, nil); err != nil {
		return err
	}
	_, err := client.For[*v1.FederatedEndpoints](m.a.mem, v1.NamespaceFederation).Create(ctx, fe)
	if v1.IsAlreadyExists(err) {
		m.a.log.Warn("a FederatedEndpoints of the member is in the way of the federation's; left alone", "name", fe.Name)
		return nil
	}
	return err
}

// ensureMembership writes the member's membership ConfigMap, which its
// DNS server reads, when it is missing or out of date.
func (a *agent) ensureMembership(ctx context.Context) error {
	cms := client.For[*v1.ConfigMap](a.mem, v1.NamespaceSystem)
	data := map[string]string{
		v1.MembershipFederation: a.federation,
		v1.MembershipDomain:     a.domain,
		v1.MembershipCluster:    a.cfg.Cluster,
		v1.MembershipRegion:     a.cfg.Region,
		v1.MembershipZone:       a.cfg.zone(),
	}
	labels := map[string]string{v1.LabelFederation: a.federation}
	cur, err := cms.Get(ctx, v1.MembershipConfigMap)
	switch {
	case v1.IsNotFound(err):
		_, err = cms.Create(ctx, &v1.ConfigMap{
			ObjectMeta: v1.ObjectMeta{Name: v1.MembershipConfigMap, Namespace: v1.NamespaceSystem, Labels: labels},
			Data:       data,
		})
	case err != nil:
	case maps.Equal(cur.Data, data) && subsetMap(labels, cur.Labels):
		return nil
	default:
		next := v1.Clone(cur)
		next.Data = data
		if next.Labels == nil {
			next.Labels = map[string]string{}
		}
		maps.Copy(next.Labels, labels)
		_, err = cms.Update(ctx, next)
	}
	if err != nil {
		return fmt.Errorf("member: write ConfigMap %s/%s: %w", v1.NamespaceSystem, v1.MembershipConfigMap, err)
	}
	return nil
}
