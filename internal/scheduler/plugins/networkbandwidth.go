package plugins

import (
	"context"
	"encoding/json"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// NetworkBandwidthName is the NetworkBandwidth plugin's name.
const NetworkBandwidthName = "NetworkBandwidth"

// NetworkBandwidthArgs are NetworkBandwidth's arguments.
type NetworkBandwidthArgs struct {
	// PreferPeersZone turns on the preference for the zone of the pod's
	// peers. Off by default: see NetworkBandwidth.
	PreferPeersZone bool `json:"preferPeersZone,omitempty"`
}

// NetworkBandwidth places pods by kennel.io/network-bandwidth, the bits
// per second of a node's interface that pods reserve (SPECS.md §6).
//
// Filter: the bandwidth the node's pods request plus the pod's must not
// exceed the node's allocatable; a node that does not advertise any fits
// only pods that request none. The reason, "Insufficient
// kennel.io/network-bandwidth", is NodeResourcesFit's: both check the
// same thing, so that a profile may enable this plugin alone.
//
// Score: with preferPeersZone, the share of the pod's peers (the pods of
// its controller: the other pets of its PetSet) already in the node's
// zone (topology.kubernetes.io/zone), 100 × peers in the zone / all
// peers, so that peers that talk to each other stay off the links
// between zones. Free bandwidth breaks ties: of the nodes with the same
// share, those with the most bandwidth left once the pod is placed keep
// the score and the others get one point less, which never puts a node
// below one with a smaller share. Without preferPeersZone, or for a pod
// with no peers placed yet, the score is the share of the node's
// bandwidth left free once the pod is placed, × 100 (0 for a node that
// does not advertise bandwidth).
//
// The peer-zone preference is off by default because Kennel's default
// pet spreading spreads a PetSet's pets across zones, so that one zone's
// loss takes few of them: pulling pets into their peers' zone works
// against it, and with both on their scores pull the placement in
// opposite directions. Turn it on (args {"preferPeersZone": true}) for
// workloads whose east-west traffic matters more than surviving a zone,
// typically with pet spreading off or weighted lower.
type NetworkBandwidth struct {
	preferPeersZone bool
}

var (
	_ framework.PreFilterPlugin = NetworkBandwidth{}
	_ framework.FilterPlugin    = NetworkBandwidth{}
	_ framework.ScorePlugin     = NetworkBandwidth{}
	_ framework.ScoreNormalizer = NetworkBandwidth{}
)

// NewNetworkBandwidth returns the plugin configured by args, JSON
// NetworkBandwidthArgs decoded strictly; empty args give the zero value
// (no peer-zone preference).
func NewNetworkBandwidth(args json.RawMessage) (*NetworkBandwidth, error) {
	var a NetworkBandwidthArgs
	if err := DecodeArgs(NetworkBandwidthName, "NetworkBandwidthArgs", args, &a); err != nil {
		return nil, err
	}
	return &NetworkBandwidth{preferPeersZone: a.PreferPeersZone}, nil
}

// Name is NetworkBandwidthName.
func (NetworkBandwidth) Name() string { return NetworkBandwidthName }

// peerZones counts a pod's peers by zone over the cycle's nodes.
type peerZones struct {
	// total counts every peer, those on nodes without a zone too.
	total  int
	inZone map[string]int
}

const peerZonesKey framework.StateKey = NetworkBandwidthName + "/peers"

// PreFilter sums the pod's requests and, with preferPeersZone, counts its
// peers in each zone over every node of the cycle.
func (nb NetworkBandwidth) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod) *framework.Status {
	resourcesOf(state, pod)
	if !nb.preferPeersZone {
		return nil
	}
	state.Write(peerZonesKey, countPeers(state.Nodes(), framework.OwnerUID(pod)))
	return nil
}

// countPeers counts the pods of controller owner on nodes, by zone.
func countPeers(nodes []*framework.NodeInfo, owner string) *peerZones {
	pz := &peerZones{inZone: map[string]int{}}
	if owner == "" {
		return pz
	}
	for _, n := range nodes {
		c := n.ByOwner[owner]
		if c == 0 {
			continue
		}
		pz.total += c
		if zone := nodeZone(n); zone != "" {
			pz.inZone[zone] += c
		}
	}
	return pz
}

func nodeZone(n *framework.NodeInfo) string {
	zone, _ := n.Label(v1.LabelTopologyZone)
	return zone
}

// Filter rejects a node without the bandwidth the pod requests.
func (NetworkBandwidth) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) *framework.Status {
	want, _ := resourcesOf(state, pod).requests.Scalar(v1.ResourceNetworkBandwidth)
	if want <= 0 {
		return nil
	}
	alloc, advertised := n.Allocatable.Scalar(v1.ResourceNetworkBandwidth)
	if !advertised || want > alloc-n.Requested.Get(v1.ResourceNetworkBandwidth) {
		return framework.NewStatus(framework.Unschedulable, InsufficientReason(v1.ResourceNetworkBandwidth))
	}
	return nil
}

// Raw scores, which NormalizeScore turns into 0..100: the free
// bandwidth in permille (0..permille) and, in peer mode, the peers'
// share in percent × peerUnit on top.
const (
	permille = 1000
	peerUnit = permille + 1
)

// Score is the node's raw score: its free bandwidth once the pod is
// placed, in permille of its allocatable, plus, when the peers' zone
// counts, their share in the node's zone in percent × peerUnit, so that
// the share compares first and the bandwidth second.
func (nb NetworkBandwidth) Score(_ context.Context, state *framework.CycleState, pod *v1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	raw := freeBandwidthPermille(resourcesOf(state, pod), n)
	if pz, ok := nb.peers(state); ok {
		raw += peerShare(pz, nodeZone(n)) * peerUnit
	}
	return raw, nil
}

// peers is the pod's peer count when peer-zone scoring applies: on, and
// the pod has peers placed.
func (nb NetworkBandwidth) peers(state *framework.CycleState) (*peerZones, bool) {
	if !nb.preferPeersZone || state == nil {
		return nil, false
	}
	pz, ok := framework.ReadAs[*peerZones](state, peerZonesKey)
	return pz, ok && pz.total > 0
}

// peerShare is 100 × the pod's peers in zone / all its peers; 0 for a
// node without a zone.
func peerShare(pz *peerZones, zone string) int64 {
	if zone == "" {
		return 0
	}
	return int64(pz.inZone[zone]) * framework.MaxNodeScore / int64(pz.total)
}

// freeBandwidthPermille is the share of the node's bandwidth left once
// the pod is placed, in permille; 0 when it advertises none.
func freeBandwidthPermille(pr *podResources, n *framework.NodeInfo) int64 {
	alloc := n.Allocatable.Get(v1.ResourceNetworkBandwidth)
	if alloc <= 0 {
		return 0
	}
	free := alloc - n.Requested.Get(v1.ResourceNetworkBandwidth) - pr.requests.Get(v1.ResourceNetworkBandwidth)
	return min(max(free, 0), alloc) * permille / alloc
}

// NormalizeScore turns the raw scores into 0..100: without peers, the
// free bandwidth in percent; with them, the peers' share in percent,
// less one point for a node with less free bandwidth than the best node
// of the same share.
func (nb NetworkBandwidth) NormalizeScore(_ context.Context, state *framework.CycleState, _ *v1.Pod, scores []framework.NodeScore) *framework.Status {
	if _, ok := nb.peers(state); !ok {
		for i := range scores {
			scores[i].Score = scores[i].Score * framework.MaxNodeScore / permille
		}
		return nil
	}
	best := map[int64]int64{} // share → most free bandwidth among its nodes
	for _, s := range scores {
		share, free := s.Score/peerUnit, s.Score%peerUnit
		if b, ok := best[share]; !ok || free > b {
			best[share] = free
		}
	}
	for i, s := range scores {
		share, free := s.Score/peerUnit, s.Score%peerUnit
		if free < best[share] {
			share = max(share-1, framework.MinNodeScore)
		}
		scores[i].Score = share
	}
	return nil
}
