package member_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/federation/member"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// runSupervisor runs a Supervisor over the member; the returned function
// stops it and waits.
func (e *env) runSupervisor() (stop func()) {
	e.t.Helper()
	tune := func(c *member.Config) {
		c.RenewInterval, c.LeaseDuration, c.StatusInterval, c.Resync = 100*time.Millisecond, 2*time.Second, 100*time.Millisecond, time.Hour
	}
	sup := member.NewSupervisor(e.mem.Admin, testcluster.FailureLog(e.t, 64<<10), member.WithAgentConfig(tune))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sup.Run(ctx); close(done) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(wait):
			e.t.Fatal("the Supervisor did not stop")
		}
	}
	e.t.Cleanup(stop)
	return stop
}

// supervisorTest is TestSupervisor's state, shared by its steps, which
// run in order.
type supervisorTest struct {
	e      *env
	secret *v1.Secret
	// fe is mirrored while the member is joined.
	fe   *v1.FederatedEndpoints
	stop func()
}

// west is the member TestSupervisor plays.
const west = "west"

func TestSupervisor(t *testing.T) {
	e := newEnv(t)
	e.memberNamespace(west)
	s := &supervisorTest{e: e, stop: e.runSupervisor(), fe: &v1.FederatedEndpoints{
		ObjectMeta: v1.ObjectMeta{Name: "apps.web", Namespace: v1.NamespaceFederation},
		Spec:       v1.FederatedEndpointsSpec{Federation: fedName, Domain: fedDomain, Namespace: "apps", Service: "web"},
	}}
	var err error
	s.secret, err = client.For[*v1.Secret](e.mem.Admin, v1.NamespaceSystem).Create(e.ctx, &v1.Secret{
		ObjectMeta: v1.ObjectMeta{Name: v1.MembershipSecret, Namespace: v1.NamespaceSystem},
		Data: map[string][]byte{
			v1.JoinURL: []byte(e.fed.Server.URL()), v1.JoinCA: e.fed.CA, v1.JoinToken: []byte(e.fed.AdminToken),
			v1.JoinCluster: []byte(west), v1.JoinRegion: []byte("eu-west"), v1.JoinZones: []byte("eu-west-1a, eu-west-1b"),
			v1.JoinLabels: []byte(`{"tier":"silver"}`),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"the Secret starts the agent", s.starts},
		{"a changed Secret restarts the agent", s.restarts},
		{"deleting the Secret leaves the federation", s.leaves},
		{"a Secret deleted while the Supervisor was down is acted on", s.leftWhileDown},
	} {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

func (s *supervisorTest) starts(t *testing.T) {
	e := s.e
	testcluster.Eventually(t, wait, "Cluster registered from the Secret", func() bool {
		cl := get[*v1.Cluster](e, e.fed.Admin, "", west)
		return cl != nil && cl.Labels["tier"] == "silver" && cl.Spec.Region == "eu-west" &&
			reflect.DeepEqual(cl.Spec.Zones, []string{"eu-west-1a", "eu-west-1b"})
	})
	e.putWork(west, "cfg", configMap("apps", "cfg", map[string]string{"k": "v"}))
	e.workApplied(west, "cfg")
	e.create(e.fed.Admin, s.fe)
	testcluster.Eventually(t, wait, "FederatedEndpoints mirrored and membership written", func() bool {
		cm := get[*v1.ConfigMap](e, e.mem.Admin, v1.NamespaceSystem, v1.MembershipConfigMap)
		return get[*v1.FederatedEndpoints](e, e.mem.Admin, v1.NamespaceFederation, s.fe.Name) != nil &&
			cm != nil && cm.Data[v1.MembershipZone] == "eu-west-1a" && cm.Data[v1.MembershipCluster] == west
	})
}

func (s *supervisorTest) restarts(t *testing.T) {
	e := s.e
	s.secret.Data[v1.JoinLabels] = []byte(`{"tier":"gold"}`)
	if _, err := client.For[*v1.Secret](e.mem.Admin, v1.NamespaceSystem).Update(e.ctx, s.secret); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, wait, "Cluster labels from the new Secret", func() bool {
		return get[*v1.Cluster](e, e.fed.Admin, "", west).Labels["tier"] == "gold"
	})
}

func (s *supervisorTest) leaves(t *testing.T) {
	e := s.e
	if _, err := client.For[*v1.Secret](e.mem.Admin, v1.NamespaceSystem).Delete(e.ctx, v1.MembershipSecret, client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, wait, "the member cleaned up", func() bool {
		return get[*v1.ConfigMap](e, e.mem.Admin, "apps", "cfg") == nil &&
			get[*v1.FederatedEndpoints](e, e.mem.Admin, v1.NamespaceFederation, s.fe.Name) == nil &&
			get[*v1.ConfigMap](e, e.mem.Admin, v1.NamespaceSystem, v1.MembershipConfigMap) == nil
	})
	testcluster.Eventually(t, wait, "the Cluster and Lease deleted on the federation", func() bool {
		return get[*v1.Cluster](e, e.fed.Admin, "", west) == nil &&
			get[*v1.Lease](e, e.fed.Admin, v1.NamespaceClusterLeases, west) == nil
	})
}

func (s *supervisorTest) leftWhileDown(t *testing.T) {
	e := s.e
	s.stop()
	e.create(e.mem.Admin, &v1.ConfigMap{
		ObjectMeta: v1.ObjectMeta{Name: v1.MembershipConfigMap, Namespace: v1.NamespaceSystem},
		Data:       map[string]string{v1.MembershipFederation: fedName},
	})
	left := configMap("apps", "left", nil)
	left.Labels[v1.LabelFederation] = fedName
	left.Annotations = map[string]string{v1.AnnotationFederationWork: v1.MemberNamespace(west) + "/left"}
	e.create(e.mem.Admin, left)
	// An object with the federation's label but applied from no Work
	// (a namespace the agent made) stays.
	kept := configMap("apps", "kept", nil)
	kept.Labels[v1.LabelFederation] = fedName
	e.create(e.mem.Admin, kept)
	e.runSupervisor()
	testcluster.Eventually(t, wait, "the member cleaned up", func() bool {
		return get[*v1.ConfigMap](e, e.mem.Admin, "apps", "left") == nil &&
			get[*v1.ConfigMap](e, e.mem.Admin, v1.NamespaceSystem, v1.MembershipConfigMap) == nil
	})
	if get[*v1.ConfigMap](e, e.mem.Admin, "apps", "kept") == nil {
		t.Error("an object applied from no Work was deleted")
	}
}
