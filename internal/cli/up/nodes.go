package up

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/client"
	"github.com/kennel-dev/kennel/internal/agent"
	"github.com/kennel-dev/kennel/internal/apiserver"
	"github.com/kennel-dev/kennel/internal/atomicfile"
	"github.com/kennel-dev/kennel/internal/controlplane"
)

// startAgents runs o.nodes agents in this process, node-i with pod range
// 127.i.0.0/16 and its own data dir and node token.
func startAgents(ctx context.Context, o *options, cp *controlplane.ControlPlane, log *slog.Logger) ([]*agent.Agent, error) {
	if o.firstPodRange == 0 {
		o.firstPodRange = 1
	}
	if o.firstPodRange < 1 || o.firstPodRange+o.nodes-1 > 254 {
		return nil, fmt.Errorf("--nodes %d, --first-pod-range %d: the pod ranges 127.N.0.0/16 must stay within N = 1 … 254", o.nodes, o.firstPodRange)
	}
	var agents []*agent.Agent
	for i := 1; i <= o.nodes; i++ {
		name := fmt.Sprintf("node-%d", i)
		dir := filepath.Join(o.dataDir, "agents", name)
		tok, err := nodeToken(ctx, cp, name, dir)
		if err != nil {
			closeAgents(agents)
			return nil, err
		}
		c, err := client.New(client.Config{Server: cp.URL(), CAData: cp.CA(), Token: tok})
		if err != nil {
			closeAgents(agents)
			return nil, err
		}
		var storage []v1.NodeStorageDevice
		if o.nodeStorage != "" {
			pool := filepath.Join(dir, "storage")
			if err := os.MkdirAll(pool, 0o700); err != nil {
				closeAgents(agents)
				return nil, err
			}
			d, err := agent.ParseStorage(pool+":"+o.nodeStorage, 0)
			if err != nil {
				closeAgents(agents)
				return nil, fmt.Errorf("--node-storage: %w", err)
			}
			storage = append(storage, d)
		}
		a, err := agent.Start(ctx, agent.Config{Client: c, CA: cp.CA(), NodeName: name, DataDir: dir,
			PodCIDR: fmt.Sprintf("127.%d.0.0/16", o.firstPodRange+i-1), Network: agent.DiscoverNetwork(), Storage: storage,
			VolumePluginDir: o.volumePluginDir, ClusterDNS: o.clusterDNSIP, ClusterDomain: o.clusterDomain, Logger: log})
		if err != nil {
			closeAgents(agents)
			return nil, err
		}
		agents = append(agents, a)
	}
	return agents, nil
}

// nodeToken reuses the node's token from its data dir, or mints one.
func nodeToken(ctx context.Context, cp *controlplane.ControlPlane, name, dir string) (string, error) {
	path := filepath.Join(dir, "node.token")
	if b, err := os.ReadFile(path); err == nil {
		if tok := strings.TrimSpace(string(b)); cp.Server().CheckToken(ctx, tok) {
			return tok, nil
		}
	}
	tok, err := cp.Server().CreateToken(ctx, apiserver.RoleNode, name, "agent of 'kennel up'")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return tok, atomicfile.Write(path, []byte(tok+"\n"), 0o600)
}

func closeAgents(agents []*agent.Agent) {
	for _, a := range agents {
		a.Close()
	}
}

// waitAll waits for a signal or the first fatal error of any component.
func waitAll(ctx context.Context, cp *controlplane.ControlPlane, agents []*agent.Agent) error {
	errc := make(chan error, len(agents)+1)
	go func() { errc <- cp.Wait(ctx) }()
	for _, a := range agents {
		go func() {
			select {
			case err := <-a.Err():
				errc <- fmt.Errorf("node %s: %w", a.NodeName(), err)
			case <-ctx.Done():
			}
		}()
	}
	err := <-errc
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
