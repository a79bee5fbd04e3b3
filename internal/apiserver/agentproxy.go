package apiserver

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// pods/log and pods/exec are served by the node agent that runs the pod.
// The API server checks who may ask, finds the pod's container and node,
// and proxies the request to the agent over TLS: the agent's self-signed
// certificate is pinned by the hash its Node publishes, and the API server
// authenticates with a client certificate from the cluster CA. The agent's
// answer is streamed back as it arrives.
//
// Agent paths (the kubelet's):
//
//	GET  /containerLogs/{namespace}/{pod}/{container}?follow=true&previous=true&tailLines=N
//	POST /exec/{namespace}/{pod}/{container}?command=ARG0&command=ARG1...

// agentTarget is where one proxied request goes.
type agentTarget struct {
	node string
	// addr is the agent's host:port.
	addr string
	// pin is the SHA-256 of the agent's certificate (DER).
	pin       []byte
	namespace string
	pod       string
	container string
}

// dispatchProxy authorizes, resolves and proxies a pods/log or pods/exec
// request; it returns the HTTP code answered.
func (s *Server) dispatchProxy(w http.ResponseWriter, r *http.Request, id *Identity, info *requestInfo) int {
	if err := authorize(id, info); err != nil {
		return writeError(w, err)
	}
	q := r.URL.Query()
	var upstream url.Values
	var err error
	if info.Subresource == subresourceLog {
		upstream, err = agentLogQuery(q)
	} else {
		upstream, err = agentExecQuery(q)
	}
	if err != nil {
		return writeError(w, err)
	}
	t, err := s.resolveAgent(r.Context(), info, q.Get("container"))
	if err != nil {
		return writeError(w, err)
	}
	if info.Subresource == subresourceLog {
		return s.proxyLog(w, r, t, upstream)
	}
	return s.proxyExec(w, r, t, upstream)
}

// agentLogQuery checks the log options and builds the agent's query.
func agentLogQuery(q url.Values) (url.Values, error) {
	out := url.Values{}
	for _, flag := range []string{"follow", "previous"} {
		switch v := q.Get(flag); v {
		case "", "false", "0":
		case "true", "1":
			out.Set(flag, "true")
		default:
			return nil, v1.NewError(v1.ReasonBadRequest, "%s %q must be true or false", flag, v)
		}
	}
	if v := q.Get("tailLines"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, v1.NewError(v1.ReasonBadRequest, "tailLines %q must be a non-negative integer", v)
		}
		out.Set("tailLines", strconv.FormatInt(n, 10))
	}
	return out, nil
}

// agentExecQuery checks the command and builds the agent's query.
func agentExecQuery(q url.Values) (url.Values, error) {
	cmd := q["command"]
	if len(cmd) == 0 || cmd[0] == "" {
		return nil, v1.NewError(v1.ReasonBadRequest, "command: required: name the program to run with command=PROGRAM, then one command=ARG per argument")
	}
	return url.Values{"command": cmd}, nil
}

// resolveAgent finds the pod, its container and the agent of its node.
func (s *Server) resolveAgent(ctx context.Context, info *requestInfo, container string) (*agentTarget, error) {
	kv, err := s.st.Get(ctx, s.key(info.Kind, info.Namespace, info.Name))
	if err != nil {
		return nil, storeError(err, info)
	}
	obj, err := decodeStored(info.Kind, kv)
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return nil, v1.NewError(v1.ReasonInternal, "stored pod %q is a %T", info.Name, obj)
	}
	container, err = podContainer(pod, container)
	if err != nil {
		return nil, err
	}
	if pod.Spec.NodeName == "" {
		return nil, v1.NewError(v1.ReasonBadRequest, "pod %s is not bound to a node", pod.Name)
	}
	t, err := s.nodeAgent(ctx, pod.Spec.NodeName)
	if err != nil {
		return nil, err
	}
	t.namespace, t.pod, t.container = pod.Namespace, pod.Name, container
	return t, nil
}

// podContainer picks the container a request means: the one named, or the
// pod's only container. Messages are kubectl's.
func podContainer(pod *v1.Pod, name string) (string, error) {
	names := containerNames(pod.Spec.Containers)
	initNames := containerNames(pod.Spec.InitContainers)
	choices := fmt.Sprintf("choose one of: %v", names)
	if len(initNames) > 0 {
		choices += fmt.Sprintf(" or one of the init containers: %v", initNames)
	}
	switch {
	case name == "" && len(names) == 1:
		return names[0], nil
	case name == "":
		return "", v1.NewError(v1.ReasonBadRequest, "a container name must be specified for pod %s, %s", pod.Name, choices)
	case slices.Contains(names, name) || slices.Contains(initNames, name):
		return name, nil
	}
	return "", v1.NewError(v1.ReasonBadRequest, "container %s is not valid for pod %s: %s", name, pod.Name, choices)
}

func containerNames(cs []v1.Container) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

// nodeAgent reads where the agent of node serves and which certificate
// it must present.
func (s *Server) nodeAgent(ctx context.Context, node string) (*agentTarget, error) {
	kind, _ := s.reg.ByResource("nodes")
	kv, err := s.st.Get(ctx, s.key(kind, "", node))
	if err != nil {
		if err = storeError(err, &requestInfo{Kind: kind, Name: node}); v1.IsNotFound(err) {
			return nil, v1.NewError(v1.ReasonUnavailable, "node %q of the pod is not registered: its agent cannot be reached", node)
		}
		return nil, err
	}
	var n v1.Node
	if err := json.Unmarshal(kv.Value, &n); err != nil {
		return nil, v1.NewError(v1.ReasonInternal, "stored node %q cannot be decoded: %v", node, err)
	}
	var ip string
	for _, a := range n.Status.Addresses {
		if a.Type == v1.NodeInternalIP && a.Address != "" {
			ip = a.Address
			break
		}
	}
	if ip == "" {
		return nil, v1.NewError(v1.ReasonUnavailable, "node %s has no InternalIP in status.addresses: its agent cannot be reached", node)
	}
	port := n.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port <= 0 {
		return nil, v1.NewError(v1.ReasonUnavailable, "node %s publishes no agent port in status.daemonEndpoints.kubeletEndpoint.Port", node)
	}
	pin, err := agentPin(n.Annotations[v1.AnnotationAgentCertSHA256])
	if err != nil {
		return nil, v1.NewError(v1.ReasonUnavailable, "node %s: annotation %s: %v: its agent's certificate cannot be checked", node, v1.AnnotationAgentCertSHA256, err)
	}
	return &agentTarget{node: node, addr: net.JoinHostPort(ip, strconv.Itoa(int(port))), pin: pin}, nil
}

// agentPin decodes the hex SHA-256 a Node publishes for its agent.
func agentPin(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("missing")
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%q is not a hex SHA-256", s)
	}
	return b, nil
}

// agentURL is the agent's URL for path (the kubelet's) and query.
func (t *agentTarget) url(endpoint string, q url.Values) string {
	u := url.URL{
		Scheme:   "https",
		Host:     t.addr,
		Path:     "/" + endpoint + "/" + t.namespace + "/" + t.pod + "/" + t.container,
		RawQuery: q.Encode(),
	}
	return u.String()
}
