// Package runtime defines what the node agent asks of a container runtime:
// pod sandboxes (an address, a cgroup, hosts files) and the containers in
// them, started, stopped, inspected, entered with exec and logged to files.
// process/ is the default implementation; a containerd runtime can slot in
// behind the same interface later.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/kennel-dev/kennel/internal/cgroups"
)

// ErrNotFound is returned (wrapped) for a pod or container the runtime does
// not know.
var ErrNotFound = errors.New("not found")

// SandboxConfig is what a pod's containers share.
type SandboxConfig struct {
	UID       string `json:"uid"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Hostname is the pod's hostname (spec.hostname or the pod name).
	Hostname string `json:"hostname"`
	// IP is the pod's address, from the node's range.
	IP string `json:"ip"`
	// Resources are the pod's cgroup limits (sums over its containers).
	Resources cgroups.Resources `json:"resources"`
	// Hosts and ResolvConf are the contents of the pod's /etc/hosts and
	// /etc/resolv.conf.
	Hosts      []byte `json:"hosts,omitempty"`
	ResolvConf []byte `json:"resolvConf,omitempty"`
}

// ContainerConfig is one start of one container.
type ContainerConfig struct {
	Name string `json:"name"`
	// Attempt counts starts of this container in this pod, from 0; it is
	// the container's restartCount.
	Attempt int `json:"attempt"`
	// Argv is the command with its arguments, $(VAR) already expanded.
	Argv       []string `json:"argv"`
	Env        []string `json:"env"`
	WorkingDir string   `json:"workingDir,omitempty"`
	// Mounts are directories bind-mounted into the container's mount
	// namespace (where the runtime gives pods one).
	Mounts []Mount `json:"mounts,omitempty"`
}

// Mount is a directory of the node shown at a path in the container.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// State is whether a container runs.
type State string

// The container states.
const (
	StateRunning State = "Running"
	StateExited  State = "Exited"
)

// Reasons a container ended, as Kubernetes reports them.
const (
	ReasonCompleted  = "Completed"
	ReasonError      = "Error"
	ReasonOOMKilled  = "OOMKilled"
	ReasonStartError = "StartError"
	// ReasonUnknown: the process ended while the agent was not its parent
	// (it was adopted after an agent restart), so its exit code is lost.
	ReasonUnknown = "Unknown"
)

// ContainerStatus is what the runtime knows of one start of a container.
type ContainerStatus struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Attempt    int       `json:"attempt"`
	Pid        int       `json:"pid,omitempty"`
	State      State     `json:"state"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	ExitCode   int       `json:"exitCode"`
	Signal     int       `json:"signal,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
}

// Runtime runs pods' containers on one node. Every method is safe for
// concurrent use. Methods that take a pod UID return an error wrapping
// ErrNotFound when the runtime has no such sandbox or container.
type Runtime interface {
	// Name is the runtime's name and version, for the Node's nodeInfo.
	Name() string
	// SupportsImages reports whether containers may set an image.
	SupportsImages() bool
	// Sandboxes lists the sandboxes the runtime holds, including those
	// it found on disk from before a restart.
	Sandboxes() []SandboxConfig
	// CreateSandbox makes (or, idempotently, updates) a pod's sandbox.
	CreateSandbox(ctx context.Context, cfg SandboxConfig) error
	// RemoveSandbox kills whatever still runs in the sandbox and removes
	// it, its cgroup and its logs.
	RemoveSandbox(ctx context.Context, uid string) error
	// StartContainer starts one attempt of a container. A command that
	// cannot be started gives an exited status with ReasonStartError and
	// a nil error; an error means the sandbox is missing or broken.
	StartContainer(ctx context.Context, uid string, cfg ContainerConfig) (ContainerStatus, error)
	// StopContainer sends SIGTERM to the container's process group, waits
	// up to grace, then sends SIGKILL; it returns once the process is
	// gone or ctx ends.
	StopContainer(ctx context.Context, uid, name string, grace time.Duration) error
	// ContainerStatus returns the latest and the previous start of a
	// container (previous is nil before the first restart).
	ContainerStatus(uid, name string) (current ContainerStatus, previous *ContainerStatus, err error)
	// Exec runs cmd in the container's environment (its env, cgroup and
	// namespaces) and returns its exit code.
	Exec(ctx context.Context, uid, name string, cmd []string, stdout, stderr io.Writer) (int, error)
	// LogPath is the log file of the container's latest start, or of the
	// one before it when previous is set.
	LogPath(uid, name string, previous bool) (string, error)
}
