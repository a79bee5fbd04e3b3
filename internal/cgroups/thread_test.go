package cgroups

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// OnSpareThread never runs fn on the main thread (the goroutine it starts
// lands there now and then: many concurrent calls make it likely), and
// fn's thread ends after it.
func TestOnSpareThreadAvoidsTheMainThreadAndEndsIt(t *testing.T) {
	const calls = 200
	tids := make(chan int, calls)
	var wg sync.WaitGroup
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			OnSpareThread(func() { tids <- unix.Gettid() })
		}()
	}
	wg.Wait()
	close(tids)
	var seen []int
	for tid := range tids {
		if tid == os.Getpid() {
			t.Fatal("fn ran on the main thread")
		}
		seen = append(seen, tid)
	}
	if len(seen) != calls {
		t.Fatalf("fn ran %d times, want %d", len(seen), calls)
	}
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for _, tid := range seen {
		for {
			if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); os.IsNotExist(err) {
				break
			}
			select {
			case <-deadline:
				t.Fatalf("thread %d outlived its fn", tid)
			case <-tick.C:
			}
		}
	}
}
