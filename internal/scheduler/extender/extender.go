package extender

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/scheduler/framework"
)

// The range of the scores an extender answers (Kubernetes'
// MinExtenderPriority and MaxExtenderPriority); scaled by weight × 10
// into Kennel's range.
const (
	MinExtenderScore int64 = 0
	MaxExtenderScore int64 = 10
)

// Extender is the HTTP client of one scheduler extender. It is safe for
// concurrent use.
type Extender struct {
	cfg     Config
	prefix  string // URLPrefix without a trailing slash
	client  *http.Client
	managed map[string]bool
}

var _ framework.Extender = (*Extender)(nil)

// The request and answer bodies. Keys are Kubernetes' Go field names
// (k8s.io/kube-scheduler/extender/v1), which carry no JSON tags.
type (
	args struct {
		Pod       *v1.Pod   `json:"Pod"`
		Nodes     *nodeList `json:"Nodes,omitempty"`
		NodeNames *[]string `json:"NodeNames,omitempty"`
	}
	// nodeList is the wire form of Kubernetes' v1.NodeList.
	nodeList struct {
		Metadata v1.ListMeta `json:"metadata"`
		Items    []*v1.Node  `json:"items"`
	}
	filterResult struct {
		Nodes                      *namedList        `json:"Nodes"`
		NodeNames                  *[]string         `json:"NodeNames"`
		FailedNodes                map[string]string `json:"FailedNodes"`
		FailedAndUnresolvableNodes map[string]string `json:"FailedAndUnresolvableNodes"`
		Error                      string            `json:"Error"`
	}
	// namedList decodes only the names of a returned NodeList: the
	// scheduler keeps its own nodes, not the extender's copies.
	namedList struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	hostPriority struct {
		Host  string `json:"Host"`
		Score int64  `json:"Score"`
	}
	bindingArgs struct {
		PodName      string `json:"PodName"`
		PodNamespace string `json:"PodNamespace"`
		PodUID       string `json:"PodUID"`
		Node         string `json:"Node"`
	}
	bindingResult struct {
		Error string `json:"Error"`
	}
)

// Name is the extender's URL prefix.
func (e *Extender) Name() string { return e.cfg.URLPrefix }

// IsIgnorable reports whether the extender is ignorable.
func (e *Extender) IsIgnorable() bool { return e.cfg.Ignorable }

// IsBinder reports whether the extender has a bind verb.
func (e *Extender) IsBinder() bool { return e.cfg.BindVerb != "" }

// IsInterested reports whether pod is sent to the extender: always when
// it manages no resources, else when a container or init container of pod
// requests or limits one of them.
func (e *Extender) IsInterested(pod *v1.Pod) bool {
	if len(e.managed) == 0 {
		return true
	}
	return e.usesManaged(pod.Spec.Containers) || e.usesManaged(pod.Spec.InitContainers)
}

func (e *Extender) usesManaged(containers []v1.Container) bool {
	for i := range containers {
		r := &containers[i].Resources
		for name := range r.Requests {
			if e.managed[name] {
				return true
			}
		}
		for name := range r.Limits {
			if e.managed[name] {
				return true
			}
		}
	}
	return false
}

// request builds the filter and prioritize body: whole nodes, or only
// their names for a node-cache-capable extender.
func (e *Extender) request(pod *v1.Pod, nodes []*framework.NodeInfo) (*args, error) {
	a := &args{Pod: pod}
	if e.cfg.NodeCacheCapable {
		names := make([]string, 0, len(nodes))
		for _, n := range nodes {
			names = append(names, n.Name())
		}
		a.NodeNames = &names
	} else {
		list := &nodeList{Items: make([]*v1.Node, 0, len(nodes))}
		for _, n := range nodes {
			if n.Node == nil {
				return nil, errors.New("a node info without its node was given")
			}
			list.Items = append(list.Items, n.Node)
		}
		a.Nodes = list
	}
	return a, nil
}

// Filter sends nodes to the filter verb and returns those the extender
// kept, in the order given, and a reason for each of the others: the
// extender's, from FailedNodes or, taking precedence,
// FailedAndUnresolvableNodes, or "node(s) were rejected by extender
// <name>" when it gave none. Reasons for nodes not sent are dropped. An
// answer that keeps a node it was not sent is an error. When the
// extender has a filter verb both results are non-nil, even if empty;
// without one Filter returns nil, nil, nil, as framework.Extender
// specifies.
func (e *Extender) Filter(ctx context.Context, pod *v1.Pod, nodes []*framework.NodeInfo) ([]*framework.NodeInfo, map[string]string, error) {
	if e.cfg.FilterVerb == "" {
		return nil, nil, nil
	}
	const op = "filter"
	in, err := e.request(pod, nodes)
	if err != nil {
		return nil, nil, e.fail(op, err)
	}
	var out filterResult
	if err := e.send(ctx, op, e.cfg.FilterVerb, in, &out); err != nil {
		return nil, nil, err
	}
	if out.Error != "" {
		return nil, nil, e.fail(op, fmt.Errorf("extender error: %s", out.Error))
	}
	kept, err := e.keptNames(&out, nodes)
	if err != nil {
		return nil, nil, e.fail(op, err)
	}
	passed := make([]*framework.NodeInfo, 0, len(kept))
	failed := map[string]string{}
	for _, n := range nodes {
		name := n.Name()
		switch {
		case kept[name]:
			passed = append(passed, n)
		case out.FailedAndUnresolvableNodes[name] != "":
			failed[name] = out.FailedAndUnresolvableNodes[name]
		case out.FailedNodes[name] != "":
			failed[name] = out.FailedNodes[name]
		default:
			failed[name] = "node(s) were rejected by extender " + e.Name()
		}
	}
	return passed, failed, nil
}

// keptNames reads the nodes a filter answer keeps, from the field the
// extender is expected to fill (NodeNames when node-cache-capable, Nodes
// otherwise) or else the other; neither keeps no node.
func (e *Extender) keptNames(out *filterResult, sent []*framework.NodeInfo) (map[string]bool, error) {
	var names []string
	switch {
	case out.NodeNames != nil && (e.cfg.NodeCacheCapable || out.Nodes == nil):
		names = *out.NodeNames
	case out.Nodes != nil:
		for _, item := range out.Nodes.Items {
			names = append(names, item.Metadata.Name)
		}
	}
	wasSent := make(map[string]bool, len(sent))
	for _, n := range sent {
		wasSent[n.Name()] = true
	}
	kept := make(map[string]bool, len(names))
	for _, name := range names {
		if !wasSent[name] {
			return nil, fmt.Errorf("returned node %q it was not sent", name)
		}
		kept[name] = true
	}
	return kept, nil
}

// Prioritize sends nodes to the prioritize verb and returns each sent
// node's score, clamped to MinExtenderScore..MaxExtenderScore and
// multiplied by weight × 10; nodes the extender did not score get 0, and
// hosts it was not sent are ignored. Without a prioritize verb it returns
// nil, nil.
func (e *Extender) Prioritize(ctx context.Context, pod *v1.Pod, nodes []*framework.NodeInfo) (map[string]int64, error) {
	if e.cfg.PrioritizeVerb == "" {
		return nil, nil
	}
	const op = "prioritize"
	in, err := e.request(pod, nodes)
	if err != nil {
		return nil, e.fail(op, err)
	}
	var out []hostPriority
	if err := e.send(ctx, op, e.cfg.PrioritizeVerb, in, &out); err != nil {
		return nil, err
	}
	scores := make(map[string]int64, len(nodes))
	for _, n := range nodes {
		scores[n.Name()] = 0
	}
	scale := e.cfg.Weight * (framework.MaxNodeScore / MaxExtenderScore)
	for _, hp := range out {
		if _, sent := scores[hp.Host]; sent {
			scores[hp.Host] = min(max(hp.Score, MinExtenderScore), MaxExtenderScore) * scale
		}
	}
	return scores, nil
}

// Bind asks the extender to bind pod to node. An "Error" in the answer is
// an error.
func (e *Extender) Bind(ctx context.Context, pod *v1.Pod, node string) error {
	const op = "bind"
	if e.cfg.BindVerb == "" {
		return e.fail(op, errors.New("the extender has no bind verb"))
	}
	in := &bindingArgs{PodName: pod.Name, PodNamespace: pod.Namespace, PodUID: pod.UID, Node: node}
	var out bindingResult
	if err := e.send(ctx, op, e.cfg.BindVerb, in, &out); err != nil {
		return err
	}
	if out.Error != "" {
		return e.fail(op, fmt.Errorf("extender error: %s", out.Error))
	}
	return nil
}
