package nodelifecycle_test

import (
	"context"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/controller/nodelifecycle"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// renewer plays an agent's heartbeat on the real clock: it renews the
// node's lease every period and reports each renewal's time.
func (e *env) renewer(ctx context.Context, node string, period time.Duration) <-chan time.Time {
	renewed := make(chan time.Time, 100)
	go func() {
		defer close(renewed)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			now := time.Now()
			l, err := e.leases().Get(ctx, node)
			if err == nil {
				l.Spec.RenewTime = &v1.MicroTime{Time: now}
				_, err = e.leases().Update(ctx, l)
			}
			if err == nil {
				select {
				case renewed <- now:
				default:
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return renewed
}

// TestLeaseStopsBeingRenewedOnTheRealClock runs the controller on the
// system clock with a 1s grace period: renewals keep the node Ready, and
// the node goes Unknown once they stop.
func TestLeaseStopsBeingRenewedOnTheRealClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addNode("n1", v1.ConditionTrue)
	e.renew("n1", time.Now())
	e.addPod("web", "n1", nil)
	e.run(nodelifecycle.Config{GracePeriod: time.Second, EvictionTimeout: time.Hour})

	hbCtx, stopHeartbeat := context.WithCancel(e.ctx)
	renewed := e.renewer(hbCtx, "n1", 200*time.Millisecond)
	first := <-renewed
	deadline := time.After(wait)
	for last := first; last.Sub(first) < 3*time.Second; {
		select {
		case last = <-renewed:
		case <-deadline:
			t.Fatal("the lease was not renewed for 3s")
		}
	}
	if n := e.node("n1"); nodeReady(n) != v1.ConditionTrue || len(n.Spec.Taints) > 0 {
		t.Fatalf("node marked while its lease was renewed for 3 grace periods: %+v %+v", n.Status.Conditions, n.Spec.Taints)
	}

	stopHeartbeat()
	for range renewed {
	}
	testcluster.Eventually(t, wait, "the node to be Unknown and tainted", func() bool {
		n := e.node("n1")
		return nodeReady(n) == v1.ConditionUnknown && taint(n, v1.TaintNodeUnreachable) != nil
	})
	testcluster.Eventually(t, wait, "the pod to be marked not Ready", func() bool { return podMarkedNotReady(e.pod("web")) })

	// The agent resumes: renewals and Ready True remove the taint.
	resumed, stopAgain := context.WithCancel(e.ctx)
	defer stopAgain()
	e.renewer(resumed, "n1", 200*time.Millisecond)
	testcluster.Eventually(t, wait, "the taint to be removed", func() bool {
		n := e.node("n1")
		if nodeReady(n) != v1.ConditionTrue {
			e.postReady("n1", v1.ConditionTrue)
			return false
		}
		return taint(n, v1.TaintNodeUnreachable) == nil
	})
}
