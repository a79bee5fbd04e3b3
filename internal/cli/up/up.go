// Package up holds the commands that run Kennel's components: `kennel up`
// (a whole cluster in one process) and `kennel server` (the control plane
// alone, for multi-host clusters).
package up

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controlplane"
	"github.com/kennel-dev/kennel/internal/scheduler"
	schedconfig "github.com/kennel-dev/kennel/internal/scheduler/config"
)

// options are the flags shared by up and server.
type options struct {
	dataDir     string
	listen      string
	contextName string
	logLevel    string
	etcd        []string
	etcdCA      string
	etcdCert    string
	etcdKey     string
	keyFile     string
	noCtrl      bool
	writeConfig bool
	// nodes is how many agents `kennel up` runs in its own process.
	nodes         int
	nodeGrace     time.Duration
	evictionDelay time.Duration
	// nodeStorage is what each in-process node's storage pool
	// advertises; volumePluginDir is where its agents find FlexVolume
	// drivers.
	nodeStorage     string
	volumePluginDir string
	// The cluster DNS: where it serves, the address pods are given as
	// their nameserver (it serves there on port 53 too), its zone and TTL.
	dnsAddr, clusterDNSIP, clusterDomain string
	dnsTTL                               time.Duration
	// schedulerConfig is the scheduler's configuration file; empty runs
	// the default profile.
	schedulerConfig string
	// firstPodRange is i of node-1's pod range 127.i.0.0/16.
	firstPodRange int
	// federation and domain make a federation control plane (kennel
	// federation up, kennel server --federation).
	federation, domain string
	clusterGrace       time.Duration
	federationTTL      time.Duration
	driftMargin        time.Duration
	maxFailedShare     float64
	automaticFailover  bool
}

// NewUpCommand builds `kennel up`.
func NewUpCommand(out, errOut io.Writer) *cobra.Command {
	o := &options{writeConfig: true}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole Kennel cluster in this process",
		Long: `Run a whole Kennel cluster in one process: an embedded etcd, the API server,
the scheduler, the controllers and --nodes node agents (default 1) that run
pods as processes. Objects are kept in the data dir, so starting again on the
same data dir keeps every object.

The client configuration (server URL, CA and admin token) is written to
$KENNEL_HOME/config (KENNEL_HOME defaults to ~/.kennel), so that the other
commands find the cluster. Stop with Ctrl-C or SIGTERM.`,
		Example: `  # Start a cluster with the defaults
  kennel up

  # Keep the data elsewhere and pick a free port
  kennel up --data-dir /var/lib/kennel --listen 127.0.0.1:0

  # Three nodes on this machine, to try scheduling and failover
  kennel up --nodes 3

  # Nodes whose storage pools advertise what this disk can do, measured
  # first with 'kennel agent --calibrate-storage DIR' (the nodes of one
  # 'kennel up' share the disk, so give each its share)
  kennel up --nodes 2 --node-storage iops=3000,bandwidth=300Mi,capacity=20Gi`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), o, out, errOut) },
	}
	addFlags(cmd, o)
	cmd.Flags().IntVar(&o.nodes, "nodes", 1, "node agents to run in this process (node-1 … node-N, pod ranges 127.1.0.0/16 …)")
	cmd.Flags().StringVar(&o.nodeStorage, "node-storage", "iops=1000,bandwidth=100Mi,capacity=10Gi",
		"what each node's storage pool (DATA-DIR/agents/node-i/storage, where kennel.io/local volumes are carved) advertises: iops=N,bandwidth=Q[,capacity=Q][,media=HDD|SSD|NVMe]; empty for none")
	cmd.Flags().IntVar(&o.firstPodRange, "first-pod-range", 1, "node-1's pod range is 127.N.0.0/16, node-2's 127.N+1.0.0/16 … (give several clusters on one machine different ranges)")
	cmd.Flags().StringVar(&o.volumePluginDir, "volume-plugin-dir", "", "FlexVolume driver directory of the nodes (default /usr/libexec/kubernetes/kubelet-plugins/volume/exec/)")
	return cmd
}

// NewServerCommand builds `kennel server`.
func NewServerCommand(out, errOut io.Writer) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Kennel control plane (API server and controllers) alone",
		Long: `Run the control plane alone, for clusters whose nodes run on other hosts:
the API server and the controllers, with etcd embedded in the data dir or an
external etcd cluster (--etcd-endpoints). Several servers may share one
external etcd; leader election makes sure only one runs the controllers.

Listen on a reachable address (--listen 0.0.0.0:6443) and give agents a node
token (kennel token create --role node).`,
		Example: `  # Control plane with embedded etcd, reachable from other hosts
  kennel server --listen 0.0.0.0:6443 --data-dir /var/lib/kennel

  # Control plane on an external etcd cluster over TLS
  kennel server --etcd-endpoints https://10.0.0.1:2379,https://10.0.0.2:2379 \
    --etcd-cafile ca.pem --etcd-certfile client.pem --etcd-keyfile client-key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), o, out, errOut) },
	}
	addFlags(cmd, o)
	f := cmd.Flags()
	f.StringSliceVar(&o.etcd, "etcd-endpoints", nil, "external etcd endpoints (comma separated); empty runs etcd embedded")
	f.StringVar(&o.etcdCA, "etcd-cafile", "", "CA bundle of the external etcd")
	f.StringVar(&o.etcdCert, "etcd-certfile", "", "client certificate for the external etcd")
	f.StringVar(&o.etcdKey, "etcd-keyfile", "", "client key for the external etcd")
	f.BoolVar(&o.noCtrl, "disable-controllers", false, "serve the API only; run no controllers")
	f.BoolVar(&o.writeConfig, "write-config", false, "write the admin client config to $KENNEL_HOME/config")
	f.StringVar(&o.federation, "federation", "", "run a federation control plane with this name (the federation controllers, no cluster controllers); needs --domain")
	f.StringVar(&o.domain, "domain", "", "the federation's DNS domain (with --federation)")
	f.DurationVar(&o.clusterGrace, "cluster-grace-period", 0, "with --federation: how long a member may go without renewing its membership before it is NotReady (default 20s)")
	f.DurationVar(&o.federationTTL, "federation-dns-ttl", 30*time.Second, "TTL of federated DNS records")
	addFailoverFlags(cmd, o)
	return cmd
}

func addFlags(cmd *cobra.Command, o *options) {
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", filepath.Join(client.Home(), "data"), "directory for etcd data, certificates and the admin token")
	f.StringVar(&o.listen, "listen", "127.0.0.1:6443", "API server address (host:port; port 0 picks a free one)")
	f.StringVar(&o.contextName, "context-name", "kennel", "name of the context written to the client config")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.DurationVar(&o.nodeGrace, "node-monitor-grace-period", 0, "how long a node's lease may go unrenewed before it is NotReady (default 20s)")
	f.StringVar(&o.keyFile, "encryption-key-file", "", "file of the keys that encrypt Secrets at rest (default: <data-dir>/encryption.keys, generated at first start); must exist")
	f.DurationVar(&o.evictionDelay, "pod-eviction-timeout", 0, "how long pods that are not pets stay on a NotReady node before they are evicted (default 30s; a Deployment then replaces its pods)")
	f.StringVar(&o.dnsAddr, "dns-addr", "127.0.0.1:5353", "where the cluster DNS serves, UDP and TCP (port 0 picks a free one; empty: no DNS server)")
	defaultIP := ""
	if os.Geteuid() == 0 {
		defaultIP = "127.0.0.10"
	}
	f.StringVar(&o.clusterDNSIP, "cluster-dns-ip", defaultIP, "the nameserver pods get in /etc/resolv.conf; the cluster DNS serves on its port 53 too (default 127.0.0.10 as root, none otherwise: pods use the host's resolv.conf)")
	f.StringVar(&o.clusterDomain, "cluster-domain", "cluster.local", "the cluster DNS zone")
	f.DurationVar(&o.dnsTTL, "dns-ttl", 5*time.Second, "TTL of the cluster DNS records")
	f.StringVar(&o.schedulerConfig, "scheduler-config", "", "a KubeSchedulerConfiguration file: profiles, plugins and their weights, extenders (see kennel scheduler config --defaults)")
}

// loadSchedulerConfig reads --scheduler-config (nil when not given) and
// logs what of it Kennel ignores.
func (o *options) loadSchedulerConfig(log *slog.Logger) (*schedconfig.Configuration, error) {
	if o.schedulerConfig == "" {
		return nil, nil
	}
	c, warnings, err := schedconfig.Load(o.schedulerConfig)
	if err == nil {
		// Build every profile now (plugin args, extenders), so that a
		// mistake stops the start rather than the scheduler of whichever
		// control plane is elected.
		var more []string
		more, err = scheduler.CheckConfiguration(c)
		warnings = append(warnings, more...)
	}
	for _, w := range warnings {
		log.Warn("scheduler configuration: "+w, "file", o.schedulerConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("--scheduler-config %s: %w", o.schedulerConfig, err)
	}
	return c, nil
}

// dnsAddrs are the addresses the cluster DNS serves on.
func (o *options) dnsAddrs() ([]string, error) {
	var out []string
	if o.dnsAddr != "" {
		out = append(out, o.dnsAddr)
	}
	if o.clusterDNSIP != "" {
		ip := net.ParseIP(o.clusterDNSIP)
		if ip == nil {
			return nil, fmt.Errorf("--cluster-dns-ip %q is not an IP address", o.clusterDNSIP)
		}
		out = append(out, net.JoinHostPort(ip.String(), "53"))
	}
	return out, nil
}

func run(ctx context.Context, o *options, out, errOut io.Writer) error {
	log, err := newLogger(errOut, o.logLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	dnsAddrs, err := o.dnsAddrs()
	if err != nil {
		return err
	}
	schedCfg, err := o.loadSchedulerConfig(log)
	if err != nil {
		return err
	}
	var fed *controlplane.Federation
	switch {
	case o.federation != "" && o.domain == "":
		return fmt.Errorf("--domain: required with --federation %s", o.federation)
	case o.federation == "" && o.domain != "":
		return fmt.Errorf("--domain %s: needs --federation", o.domain)
	case o.federation != "":
		if o.nodes > 0 {
			return fmt.Errorf("--nodes %d: a federation control plane runs no nodes", o.nodes)
		}
		fed = &controlplane.Federation{Name: o.federation, Domain: o.domain, ClusterGracePeriod: o.clusterGrace,
			DriftMargin: o.driftMargin, MaxFailedShare: o.maxFailedShare, AutomaticFailover: o.automaticFailover}
	}
	if gogc, fromEnv := controlplane.TuneGC(); fromEnv {
		log.Info("garbage collector target from GOGC", "GOGC", gogc)
	}
	cp, err := controlplane.Start(ctx, controlplane.Config{
		DataDir: o.dataDir, Listen: o.listen, Logger: log,
		EtcdEndpoints: o.etcd, EtcdCAFile: o.etcdCA, EtcdCertFile: o.etcdCert, EtcdKeyFile: o.etcdKey,
		DisableControllers: o.noCtrl, NodeGracePeriod: o.nodeGrace, PodEvictionTimeout: o.evictionDelay,
		EncryptionKeyFile: o.keyFile, DNSAddrs: dnsAddrs, ClusterDomain: o.clusterDomain, DNSTTL: o.dnsTTL,
		SchedulerConfig: schedCfg, Federation: fed, FederationDNSTTL: o.federationTTL,
	})
	if err != nil {
		return err
	}
	defer cp.Close()
	agents, err := startAgents(ctx, o, cp, log)
	if err != nil {
		return err
	}
	defer closeAgents(agents)
	cfgPath := ""
	if o.writeConfig {
		cfgPath = client.DefaultConfigPath()
		if err := writeClientConfig(cfgPath, o.contextName, cp); err != nil {
			return err
		}
	}
	printBanner(out, o, cp, cfgPath)
	err = waitAll(ctx, cp, agents)
	fmt.Fprintln(out, "Stopping Kennel… (pods keep running; the next 'kennel up' adopts them)")
	closeAgents(agents)
	cp.Close()
	if err == nil {
		fmt.Fprintln(out, "Kennel stopped.")
	}
	return err
}

func writeClientConfig(path, name string, cp *controlplane.ControlPlane) error {
	f, err := client.LoadFile(path)
	if err != nil {
		return err
	}
	f.Upsert(client.Context{Name: name, Server: cp.URL(), CertificateAuthorityData: cp.CA(), Token: cp.AdminToken()})
	f.CurrentContext = name
	return f.Save(path)
}

func printBanner(out io.Writer, o *options, cp *controlplane.ControlPlane, cfgPath string) {
	if o.federation != "" {
		fmt.Fprintf(out, "Kennel federation %q is up (domain %s).\n", o.federation, o.domain)
	} else {
		fmt.Fprintf(out, "Kennel is up.\n")
	}
	fmt.Fprintf(out, "  API server:     %s\n", cp.URL())
	store := "embedded etcd in " + filepath.Join(o.dataDir, "etcd")
	if len(o.etcd) > 0 {
		store = fmt.Sprintf("external etcd (%d endpoints)", len(o.etcd))
	}
	fmt.Fprintf(out, "  store:          %s\n", store)
	if addrs := cp.DNSAddrs(); len(addrs) > 0 {
		fmt.Fprintf(out, "  cluster DNS:    %s (zone %s)\n", strings.Join(addrs, ", "), o.clusterDomain)
	}
	fmt.Fprintf(out, "  certificates:   %s\n", filepath.Join(o.dataDir, "pki"))
	fmt.Fprintf(out, "  admin token:    %s\n", filepath.Join(o.dataDir, "admin.token"))
	switch {
	case o.nodes == 1:
		fmt.Fprintf(out, "  nodes:          node-1, data in %s\n", filepath.Join(o.dataDir, "agents"))
	case o.nodes > 1:
		fmt.Fprintf(out, "  nodes:          %d (node-1 … node-%d), data in %s\n", o.nodes, o.nodes, filepath.Join(o.dataDir, "agents"))
	}
	if cfgPath != "" {
		fmt.Fprintf(out, "  client config:  %s (context %q)\n", cfgPath, o.contextName)
		if o.federation != "" {
			fmt.Fprintf(out, "Try: kennel --context %s federation token create --cluster NAME\n", o.contextName)
		} else {
			fmt.Fprintf(out, "Try: kennel get namespaces\n")
		}
	}
	fmt.Fprintf(out, "Stop with Ctrl-C.\n")
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
