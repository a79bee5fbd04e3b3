package apiserver_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/testcluster"
)

// A watcher that stops reading is cut off instead of holding up the
// others; resuming from the last resourceVersion it saw, it misses
// nothing.
func TestSlowWatcherIsCutOffAndResumesWithoutLoss(t *testing.T) {
	tc := testcluster.StartWith(t, func(c *apiserver.Config) { c.WatchBufferEvents = 64 })
	ctx := ctxT(t)
	cms := client.For[*v1.ConfigMap](tc.Admin, "default")
	cm, err := cms.Create(ctx, configMap("hot", nil))
	// Large events fill the HTTP/2 flow-control window of the watcher that
	// does not read, so that the server's buffer for it overflows.
	pad := strings.Repeat("x", 32<<10)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := cms.Watch(ctx, client.ListOptions{ResourceVersion: cm.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Stop()
	fast, err := cms.Watch(ctx, client.ListOptions{ResourceVersion: cm.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Stop()
	const changes = 600
	fastSeen := make(chan int, 1)
	go func() {
		n := 0
		for ev := range fast.Events() {
			if ev.Type == client.Modified {
				n++
			}
			if n == changes {
				break
			}
		}
		fastSeen <- n
	}()
	for i := 0; i < changes; i++ {
		cm.Data["k"] = fmt.Sprint(i)
		cm.Data["pad"] = pad
		if cm, err = cms.Update(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case n := <-fastSeen:
		if n != changes {
			t.Fatalf("fast watcher saw %d of %d changes", n, changes)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("fast watcher was held up by the slow one")
	}
	// The slow watcher now reads; when its stream ends it resumes.
	seen, last, resumed := 0, "", 0
	w := slow
	for seen < changes {
		ev, ok := <-w.Events()
		if !ok {
			if last == "" {
				t.Fatal("slow watcher's stream ended before any event")
			}
			resumed++
			if w, err = cms.Watch(ctx, client.ListOptions{ResourceVersion: last}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if ev.Type == client.Error {
			t.Fatalf("slow watcher: %v", ev.Err)
		}
		if ev.Object.Data["k"] != fmt.Sprint(seen) {
			t.Fatalf("slow watcher event %d has k=%s", seen, ev.Object.Data["k"])
		}
		seen++
		last = ev.Object.ResourceVersion
	}
	if resumed == 0 {
		t.Fatal("the slow watcher was never cut off: the test did not exercise the overflow")
	}
}
