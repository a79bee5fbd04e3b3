package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// workload is the running state the HTTP endpoints report.
type workload struct {
	stdout io.Writer
	stderr io.Writer
	ready  atomic.Bool
	unwell atomic.Bool
	mu     sync.Mutex
	held   [][]byte     // allocated memory, kept reachable so it stays resident
	peers  atomic.Value // []string: the --peers-srv targets last found
}

func newWorkload(stdout, stderr io.Writer) *workload {
	return &workload{stdout: stdout, stderr: stderr}
}

// serve starts the HTTP server on addr and says where it listens.
func (w *workload) serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("workload: --listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) {
		if w.unwell.Load() {
			http.Error(rw, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	mux.HandleFunc("/ready", func(rw http.ResponseWriter, _ *http.Request) {
		if !w.ready.Load() {
			http.Error(rw, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ready")
	})
	mux.HandleFunc("/env", func(rw http.ResponseWriter, _ *http.Request) {
		env := os.Environ()
		slices.Sort(env)
		for _, kv := range env {
			fmt.Fprintln(rw, kv)
		}
	})
	mux.HandleFunc("/peers", func(rw http.ResponseWriter, _ *http.Request) {
		peers, _ := w.peers.Load().([]string)
		for _, p := range peers {
			fmt.Fprintln(rw, p)
		}
	})
	mux.HandleFunc("/hostname", func(rw http.ResponseWriter, _ *http.Request) {
		name, err := os.Hostname()
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(rw, name)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	// The server lives as long as the process; Serve never returns before.
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(w.stdout, "listening on %s\n", ln.Addr())
	return nil
}

// schedule starts every timed behaviour of c; exit receives the exit code
// of whichever ends the process first.
func (w *workload) schedule(c config, exit chan<- int) {
	time.AfterFunc(c.readyAfter, func() { w.becomeReady(c.readyFile, exit) })
	if c.unhealthyAfter > 0 {
		time.AfterFunc(c.unhealthyAfter, func() {
			w.unwell.Store(true)
			fmt.Fprintln(w.stdout, "unhealthy")
		})
	}
	if c.crashAfter > 0 {
		time.AfterFunc(c.crashAfter, func() {
			fmt.Fprintf(w.stdout, "crashing with exit code %d\n", c.exitCode)
			exit <- c.exitCode
		})
	}
	if c.exitAfter > 0 {
		time.AfterFunc(c.exitAfter, func() {
			fmt.Fprintln(w.stdout, "exiting")
			exit <- 0
		})
	}
	for range c.burnCPU {
		go burn()
	}
	if c.allocMB > 0 || c.allocStepMB > 0 {
		go w.allocate(c.allocMB, c.allocStepMB)
	}
	if c.logEvery > 0 {
		go w.logPeriodically(c.logEvery)
	}
	if c.peersSRV != "" {
		go w.findPeers(c.peersSRV, c.dnsServer)
	}
}

// findPeers resolves an SRV name every 200 ms, through the system's
// resolver configuration or server, and keeps the sorted "host:port"
// targets, printing them whenever they change.
func (w *workload) findPeers(name, server string) {
	r := &net.Resolver{PreferGo: true}
	if server != "" {
		r.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}
	}
	var last string
	for ; ; time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, srvs, err := r.LookupSRV(ctx, "", "", name)
		cancel()
		if err != nil && len(srvs) == 0 {
			continue
		}
		peers := make([]string, 0, len(srvs))
		for _, s := range srvs {
			peers = append(peers, net.JoinHostPort(strings.TrimSuffix(s.Target, "."), strconv.Itoa(int(s.Port))))
		}
		slices.Sort(peers)
		w.peers.Store(peers)
		if now := strings.Join(peers, ","); now != last {
			fmt.Fprintf(w.stdout, "peers: %s\n", now)
			last = now
		}
	}
}

// becomeReady flips /ready and creates the ready file; failing to create
// it is fatal, since a test waiting for it would otherwise hang.
func (w *workload) becomeReady(file string, exit chan<- int) {
	if file != "" {
		if err := os.WriteFile(file, []byte("ready\n"), 0o644); err != nil {
			fmt.Fprintf(w.stderr, "workload: --ready-file: %v\n", err)
			exit <- 1
			return
		}
	}
	w.ready.Store(true)
	fmt.Fprintln(w.stdout, "ready")
}

// burn spins forever on one CPU.
func burn() {
	for {
	}
}

// allocate touches mb MiB, then step MiB more every second.
func (w *workload) allocate(mb, step int) {
	w.hold(mb)
	if step == 0 {
		return
	}
	for range time.Tick(time.Second) {
		w.hold(step)
	}
}

// hold allocates mb MiB and writes every page, so the memory is resident
// and charged to the process's cgroup, not merely reserved.
func (w *workload) hold(mb int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for range mb {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		w.held = append(w.held, b)
	}
	fmt.Fprintf(w.stdout, "allocated %d MiB\n", len(w.held))
}

// logPeriodically prints "log 1", "log 2", … every d.
func (w *workload) logPeriodically(d time.Duration) {
	n := 0
	for range time.Tick(d) {
		n++
		fmt.Fprintf(w.stdout, "log %d\n", n)
	}
}
