package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/controller/clock"
	"github.com/kennel-dev/kennel/internal/runtime"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Config configures one node agent.
type Config struct {
	// Client talks to the API server with the node's token.
	Client *client.Client
	// CA is the cluster CA (PEM): the agent's HTTPS server accepts only
	// the API server's client certificate signed by it.
	CA []byte
	// NodeName is the Node this agent registers (DNS-1123 subdomain).
	NodeName string
	// DataDir holds the agent's state: pods, logs, its serving cert.
	DataDir string
	// Labels are added to the Node's (topology.kubernetes.io/zone, …).
	Labels map[string]string
	// PodCIDR is the node's pod range (127.N.0.0/16); empty waits for the
	// control plane to assign one.
	PodCIDR string
	// NodeIP is the node's InternalIP (default 127.0.0.1).
	NodeIP string
	// Listen is the address of the agent's HTTPS server for logs and exec
	// (default NodeIP:0).
	Listen string
	// CPU, Memory and MaxPods override what the node advertises (default:
	// what the kernel says, and 110 pods).
	CPU     *resource.Quantity
	Memory  *resource.Quantity
	MaxPods int64
	// Storage and Network are the node-local resources of SPECS.md §6.
	// Local volumes (kennel.io/local) are carved from the Storage devices'
	// pool directories.
	Storage []v1.NodeStorageDevice
	Network *v1.NodeNetwork
	// VolumePluginDir is where FlexVolume drivers are found
	// (<dir>/<vendor>~<driver>/<driver>); default the kubelet's
	// /usr/libexec/kubernetes/kubelet-plugins/volume/exec/.
	VolumePluginDir string
	// FlexTimeout bounds every FlexVolume driver call (default 2 min).
	FlexTimeout time.Duration
	// Runtime runs the containers. Nil: the process runtime under
	// DataDir/pods, with cgroups and namespaces when running as root.
	Runtime runtime.Runtime
	// FenceWatchdog starts the node's fence watchdog on dir (the data
	// dir's fence/) when none holds its lock; the watchdog must outlive
	// the agent. Nil: this binary (os.Executable) is started, detached, as
	// `kennel fence-watchdog --dir DIR`. Tests, whose binary is not
	// kennel, run fence.Watch in-process.
	FenceWatchdog func(dir string) error
	// ClusterDNS is the nameserver written into pods' resolv.conf (empty:
	// the host's resolv.conf is used), ClusterDomain its search suffix.
	ClusterDNS    string
	ClusterDomain string
	// BackoffBase and BackoffMax bound the delay before a crashed
	// container restarts (defaults 10 s and 5 min, as in Kubernetes).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// LeaseRenewInterval and StatusInterval are how often the Lease and
	// the Node status are renewed (defaults 5 s and 60 s).
	LeaseRenewInterval time.Duration
	StatusInterval     time.Duration
	Clock              clock.Clock
	Logger             *slog.Logger
}

// Validate checks the configuration without side effects; errors name the
// field.
func (c *Config) Validate() error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, errors.New("agent: client is required"))
	}
	if c.NodeName == "" {
		errs = append(errs, errors.New("agent: node name is required"))
	} else if msgs := validation.IsDNS1123Subdomain(c.NodeName); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("agent: node name %q: %s", c.NodeName, strings.Join(msgs, "; ")))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("agent: data dir is required"))
	}
	if c.PodCIDR != "" {
		if _, err := podRange(c.PodCIDR); err != nil {
			errs = append(errs, err)
		}
	}
	if c.NodeIP != "" {
		if _, err := netip.ParseAddr(c.NodeIP); err != nil {
			errs = append(errs, fmt.Errorf("agent: node IP %q is not an IP address", c.NodeIP))
		}
	}
	if c.MaxPods < 0 {
		errs = append(errs, fmt.Errorf("agent: max pods %d must not be negative", c.MaxPods))
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.NodeIP == "" {
		c.NodeIP = "127.0.0.1"
	}
	if c.Listen == "" {
		c.Listen = netip.AddrPortFrom(netip.MustParseAddr(c.NodeIP), 0).String()
	}
	if c.MaxPods == 0 {
		c.MaxPods = 110
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = "cluster.local"
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 10 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.LeaseRenewInterval <= 0 {
		c.LeaseRenewInterval = v1.NodeLeaseRenewSeconds * time.Second
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = time.Minute
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}
