package leaderelection_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/leaderelection"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// Two candidates against the real API server and etcd: exactly one leads;
// when it stops (releasing the Lease) the other takes over, and never do
// both lead at once.
func TestElectionAgainstRealAPIServer(t *testing.T) {
	tc := testcluster.Start(t)
	var leading atomic.Int32
	var maxLeading atomic.Int32
	var mu sync.Mutex
	leaders := []string{}
	start := func(id string) (context.CancelFunc, chan struct{}) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		cfg := leaderelection.Config{
			Lock:            client.For[*v1.Lease](tc.Admin, v1.NamespaceSystem),
			Name:            "test-election",
			Identity:        id,
			LeaseDuration:   2 * time.Second,
			RenewDeadline:   1500 * time.Millisecond,
			RetryPeriod:     100 * time.Millisecond,
			ReleaseOnCancel: true,
		}
		go func() {
			defer close(done)
			leaderelection.Run(ctx, cfg, leaderelection.Callbacks{
				OnStartedLeading: func(ctx context.Context) {
					n := leading.Add(1)
					for {
						m := maxLeading.Load()
						if n <= m || maxLeading.CompareAndSwap(m, n) {
							break
						}
					}
					mu.Lock()
					leaders = append(leaders, id)
					mu.Unlock()
					<-ctx.Done()
					leading.Add(-1)
				},
			})
		}()
		return cancel, done
	}
	stopA, doneA := start("a")
	testcluster.Eventually(t, 10*time.Second, "a to lead", func() bool { return leading.Load() == 1 })
	stopB, doneB := start("b")
	defer func() { stopB(); <-doneB }()
	lease, err := client.For[*v1.Lease](tc.Admin, v1.NamespaceSystem).Get(context.Background(), "test-election")
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "a" {
		t.Fatalf("lease holder: %+v %v", lease, err)
	}
	stopA()
	<-doneA
	testcluster.Eventually(t, 10*time.Second, "b to take over", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(leaders) == 2 && leaders[1] == "b" && leading.Load() == 1
	})
	if maxLeading.Load() != 1 {
		t.Fatalf("%d candidates led at once", maxLeading.Load())
	}
}
