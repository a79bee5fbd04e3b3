package up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/agent"
)

// agentOptions are the flags of `kennel agent`.
type agentOptions struct {
	server, token, tokenFile, caFile string
	name, dataDir, podCIDR, nodeIP   string
	listen, clusterDNS, logLevel     string
	clusterDomain                    string
	labels                           map[string]string
	storage                          []string
	network, cpu, memory             string
	maxPods                          int64
	configPath, contextName          string
	volumePluginDir                  string
	flexTimeout                      time.Duration
	calibrate                        string
	calibrateTime                    time.Duration
}

// NewAgentCommand builds `kennel agent`.
func NewAgentCommand(out, errOut io.Writer) *cobra.Command {
	host, _ := os.Hostname()
	o := &agentOptions{name: strings.ToLower(host)}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node agent that joins this machine to a cluster",
		Long: `Run a node agent: it registers a Node with what this machine offers (CPU,
memory, pods, and the storage devices and network bandwidth given by flags),
renews the node's Lease as its heartbeat, and runs the pods bound to the node
as processes — in their own cgroups and, as root, their own UTS and mount
namespaces. It serves the pods' logs and exec to the API server.

Stopping or killing the agent leaves its pods running; an agent started again
on the same data dir adopts them and restarts none. Get a join token with
'kennel token create --role node'.`,
		Example: `  # Join with a node token; server and CA come from flags
  kennel agent --server https://10.0.0.1:6443 --ca-file ca.crt --token-file node.token

  # Advertise a fast local disk and the NIC's bandwidth, with a zone label
  kennel agent --server https://10.0.0.1:6443 --ca-file ca.crt --token $TOKEN \
    --storage /mnt/nvme0:iops=50000,bandwidth=2Gi,media=NVMe \
    --network-bandwidth 10Gbit --labels topology.kubernetes.io/zone=eu-1a

  # Measure a disk before advertising it
  kennel agent --calibrate-storage /mnt/nvme0

  # A second agent on this machine, next to 'kennel up' (server, CA and
  # token from the current context of ~/.kennel/config)
  kennel agent --name extra-1 --data-dir /tmp/extra-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The CLI's global --config and --context choose the context
			// the flags above fall back on.
			if f := cmd.Flag("config"); f != nil {
				o.configPath = f.Value.String()
			}
			if f := cmd.Flag("context"); f != nil {
				o.contextName = f.Value.String()
			}
			if o.calibrate != "" {
				return runCalibrate(cmd.Context(), o, out, errOut)
			}
			return runAgent(cmd.Context(), o, out, errOut)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "API server URL (default: the current context's)")
	f.StringVar(&o.token, "token", "", "node token (default: the current context's token)")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the node token")
	f.StringVar(&o.caFile, "ca-file", "", "cluster CA certificate (PEM; default: the current context's)")
	f.StringVar(&o.name, "name", o.name, "node name (default: this host's name)")
	f.StringVar(&o.dataDir, "data-dir", "", "directory for pods, logs and state (default $KENNEL_HOME/agent/NAME)")
	f.StringToStringVar(&o.labels, "labels", nil, "node labels, k=v,... (e.g. topology.kubernetes.io/zone=z1)")
	f.StringArrayVar(&o.storage, "storage", nil, "a storage device volumes may use: PATH:iops=N,bandwidth=Q[,capacity=Q][,name=S][,media=HDD|SSD|NVMe] (repeatable)")
	f.StringVar(&o.network, "network-bandwidth", "", "bandwidth pods may reserve, e.g. 10Gbit (default: the default route's link speed, when the kernel knows it)")
	f.StringVar(&o.cpu, "cpu", "", "CPUs to advertise (default: all)")
	f.StringVar(&o.memory, "memory", "", "memory to advertise, e.g. 8Gi (default: all)")
	f.Int64Var(&o.maxPods, "max-pods", 110, "pods the node accepts")
	f.StringVar(&o.podCIDR, "pod-cidr", "", "pod address range, e.g. 127.3.0.0/16 (default: assigned by the control plane)")
	f.StringVar(&o.nodeIP, "node-ip", "127.0.0.1", "the node's address, where the API server reaches the agent")
	f.StringVar(&o.listen, "listen", "", "address of the agent's HTTPS server for logs and exec (default NODE-IP:0)")
	f.StringVar(&o.clusterDNS, "cluster-dns", "", "nameserver written into pods' resolv.conf (default: the host's resolv.conf)")
	f.StringVar(&o.clusterDomain, "cluster-domain", "cluster.local", "the cluster DNS zone, in pods' resolv.conf search path")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.volumePluginDir, "volume-plugin-dir", "", "FlexVolume driver directory, <dir>/<vendor>~<driver>/<driver> (default /usr/libexec/kubernetes/kubelet-plugins/volume/exec/)")
	f.DurationVar(&o.flexTimeout, "flex-timeout", 2*time.Minute, "time limit of every FlexVolume driver call")
	f.StringVar(&o.calibrate, "calibrate-storage", "", "measure the IOPS and bandwidth of the device holding this directory with a short direct-I/O test, print the --storage flag to use, and exit")
	f.DurationVar(&o.calibrateTime, "calibrate-time", 5*time.Second, "how long each of the four --calibrate-storage tests runs")
	return cmd
}

func runAgent(ctx context.Context, o *agentOptions, out, errOut io.Writer) error {
	log, err := newLogger(errOut, o.logLevel)
	if err != nil {
		return err
	}
	cfg, err := o.config()
	if err != nil {
		return err
	}
	cfg.Logger = log
	if os.Getenv("GOGC") == "" {
		// A node daemon's heap is small and long-lived: collecting at 50%
		// growth keeps its resident memory about 2 MB lower for a few
		// milliseconds of CPU a minute. GOGC overrides.
		debug.SetGCPercent(50)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := agent.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(out, "Kennel agent for node %s is up (data in %s). Pods keep running if it stops.\n", cfg.NodeName, cfg.DataDir)
	select {
	case <-ctx.Done():
	case err = <-a.Err():
	}
	a.Close()
	fmt.Fprintln(out, "Kennel agent stopped.")
	return err
}

// config turns the flags into an agent configuration, taking the server,
// CA and token the flags leave out from the client config's current
// context.
func (o *agentOptions) config() (agent.Config, error) {
	cfg := agent.Config{NodeName: o.name, DataDir: o.dataDir, Labels: o.labels, PodCIDR: o.podCIDR,
		NodeIP: o.nodeIP, Listen: o.listen, MaxPods: o.maxPods, ClusterDNS: o.clusterDNS,
		VolumePluginDir: o.volumePluginDir, FlexTimeout: o.flexTimeout, ClusterDomain: o.clusterDomain}
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(client.Home(), "agent", o.name)
	}
	cc, err := o.clientConfig()
	if err != nil {
		return cfg, err
	}
	if cfg.Client, err = client.New(cc); err != nil {
		return cfg, err
	}
	cfg.CA = cc.CAData
	for i, s := range o.storage {
		d, err := agent.ParseStorage(s, i)
		if err != nil {
			return cfg, err
		}
		cfg.Storage = append(cfg.Storage, d)
	}
	if o.network != "" {
		q, err := agent.ParseBandwidth(o.network)
		if err != nil {
			return cfg, fmt.Errorf("--network-bandwidth: %w", err)
		}
		cfg.Network = &v1.NodeNetwork{Bandwidth: &q}
	} else {
		cfg.Network = agent.DiscoverNetwork()
	}
	for flag, p := range map[string]**resource.Quantity{"--cpu": &cfg.CPU, "--memory": &cfg.Memory} {
		v := map[string]string{"--cpu": o.cpu, "--memory": o.memory}[flag]
		if v == "" {
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			return cfg, fmt.Errorf("%s: %q is not a positive quantity", flag, v)
		}
		*p = &q
	}
	return cfg, cfg.Validate()
}

func (o *agentOptions) clientConfig() (client.Config, error) {
	var cc client.Config
	if o.server == "" || o.caFile == "" || (o.token == "" && o.tokenFile == "") {
		path := o.configPath
		if path == "" {
			path = client.DefaultConfigPath()
		}
		f, err := client.LoadFile(path)
		if err != nil {
			return cc, err
		}
		cur, err := f.Context(o.contextName)
		if err == nil {
			cc = cur.Config()
		} else if o.contextName != "" {
			return cc, fmt.Errorf("agent: --context: %w", err)
		}
	}
	if o.server != "" {
		cc.Server = o.server
	}
	if o.caFile != "" {
		b, err := os.ReadFile(o.caFile)
		if err != nil {
			return cc, fmt.Errorf("--ca-file: %w", err)
		}
		cc.CAData = b
	}
	switch {
	case o.token != "":
		cc.Token = o.token
	case o.tokenFile != "":
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return cc, fmt.Errorf("--token-file: %w", err)
		}
		cc.Token = strings.TrimSpace(string(b))
	}
	if cc.Server == "" {
		return cc, errors.New("agent: --server is required (no current context in the client config)")
	}
	if cc.Token == "" {
		return cc, errors.New("agent: --token or --token-file is required (make one with 'kennel token create --role node')")
	}
	return cc, nil
}
