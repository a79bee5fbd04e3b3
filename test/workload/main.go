// Command workload is Kennel's own test workload: a small server whose
// behaviour over time — when it becomes ready, turns unhealthy, crashes,
// how it handles SIGTERM, how much CPU and memory it takes — is chosen with
// flags, so tests and examples can exercise probes, restarts, graceful
// stops and cgroup limits without depending on third-party software.
//
// Build it with
//
//	go build ./test/workload
//
// Flags (all optional):
//
//	--listen ADDR            HTTP address; default $POD_IP:8080, or 127.0.0.1:8080
//	--ready-after DURATION   /ready answers 503 until then, 200 after
//	--ready-file PATH        file created when ready
//	--unhealthy-after DUR    /healthz answers 500 from then on
//	--crash-after DURATION   exit with --exit-code (default 1) then
//	--exit-after DURATION    exit 0 then
//	--trap-sigterm           on SIGTERM print "sigterm received", wait
//	                         --term-delay, exit 0 (else Go's default: die)
//	--alloc-mb N             allocate and touch N MiB at start
//	--alloc-step-mb N        then N MiB more every second
//	--burn-cpu N             N goroutines busy-looping
//	--print TEXT             print TEXT at start
//	--log-every DURATION     print "log N" periodically
//
// Endpoints: /healthz, /ready, /env (the environment, one variable a line)
// and /hostname. Once listening it prints "listening on ADDR" with the
// actual address, so --listen 127.0.0.1:0 works.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is the parsed command line.
type config struct {
	listen         string
	readyAfter     time.Duration
	readyFile      string
	unhealthyAfter time.Duration
	crashAfter     time.Duration
	exitCode       int
	exitAfter      time.Duration
	trapSigterm    bool
	termDelay      time.Duration
	allocMB        int
	allocStepMB    int
	burnCPU        int
	print          string
	logEvery       time.Duration
	peersSRV       string
	dnsServer      string
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// parseFlags reads the command line; getenv supplies POD_IP for the
// default listen address.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("workload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", defaultListen(getenv), "HTTP listen address")
	fs.DurationVar(&c.readyAfter, "ready-after", 0, "become ready after this long")
	fs.StringVar(&c.readyFile, "ready-file", "", "create this file when ready")
	fs.DurationVar(&c.unhealthyAfter, "unhealthy-after", 0, "/healthz fails after this long (0: never)")
	fs.DurationVar(&c.crashAfter, "crash-after", 0, "exit with --exit-code after this long (0: never)")
	fs.IntVar(&c.exitCode, "exit-code", 1, "exit code of --crash-after")
	fs.DurationVar(&c.exitAfter, "exit-after", 0, "exit 0 after this long (0: never)")
	fs.BoolVar(&c.trapSigterm, "trap-sigterm", false, "handle SIGTERM: print, wait --term-delay, exit 0")
	fs.DurationVar(&c.termDelay, "term-delay", 0, "delay between SIGTERM and exit with --trap-sigterm")
	fs.IntVar(&c.allocMB, "alloc-mb", 0, "MiB to allocate and touch at start")
	fs.IntVar(&c.allocStepMB, "alloc-step-mb", 0, "MiB to allocate every second after --alloc-mb")
	fs.IntVar(&c.burnCPU, "burn-cpu", 0, "goroutines that busy-loop")
	fs.StringVar(&c.print, "print", "", "line to print at start")
	fs.DurationVar(&c.logEvery, "log-every", 0, "print a numbered line this often (0: never)")
	fs.StringVar(&c.peersSRV, "peers-srv", "", "an SRV name to resolve every 200 ms: the peers found are served at /peers and printed when they change")
	fs.StringVar(&c.dnsServer, "dns-server", "", "resolve --peers-srv with this DNS server (host:port) instead of /etc/resolv.conf's")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("workload: unexpected arguments %q", fs.Args())
	}
	if c.allocMB < 0 || c.allocStepMB < 0 || c.burnCPU < 0 {
		return c, errors.New("workload: --alloc-mb, --alloc-step-mb and --burn-cpu must not be negative")
	}
	return c, nil
}

// defaultListen is $POD_IP:8080 inside a pod, loopback elsewhere.
func defaultListen(getenv func(string) string) string {
	if ip := getenv("POD_IP"); ip != "" {
		return net.JoinHostPort(ip, "8080")
	}
	return "127.0.0.1:8080"
}

// run is main without os.Exit: it returns the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if c.print != "" {
		fmt.Fprintln(stdout, c.print)
	}
	// Every way to end the process sends its exit code here.
	exit := make(chan int, 1)
	w := newWorkload(stdout, stderr)
	if c.trapSigterm {
		// Registered before listening, so a SIGTERM sent once the process
		// says it listens is always trapped.
		trapSigterm(stdout, c.termDelay, exit)
	}
	if err := w.serve(c.listen); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	w.schedule(c, exit)
	return <-exit
}

// trapSigterm turns SIGTERM into a delayed exit 0.
func trapSigterm(stdout io.Writer, delay time.Duration, exit chan<- int) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(stdout, "sigterm received")
		time.Sleep(delay)
		exit <- 0
	}()
}
