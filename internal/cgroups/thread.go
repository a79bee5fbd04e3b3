package cgroups

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// OnSpareThread runs fn on a locked OS thread that is not the process's
// main thread, and the thread ends when fn returns, so whatever fn does
// to its thread (joining a pod's cgroup on v1, entering namespaces) never
// reaches other goroutines.
//
// The main thread matters twice: the Go runtime never ends it (it would
// carry fn's changes on), and /proc/<pid>/cgroup shows its cgroups, so a
// fence watchdog that saw it in a pod's cgroup would take the whole
// process for the pod's and kill it. A goroutine that finds itself on the
// main thread keeps it locked, which forces the one it starts onto
// another thread.
func OnSpareThread(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked off the main thread: the thread ends with the goroutine
		if unix.Gettid() != os.Getpid() {
			fn()
			return
		}
		inner := make(chan struct{})
		go func() {
			defer close(inner)
			runtime.LockOSThread() // the main thread is held above, so this is another one
			fn()
		}()
		<-inner
		runtime.UnlockOSThread()
	}()
	<-done
}
