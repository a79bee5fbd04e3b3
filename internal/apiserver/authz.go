package apiserver

import (
	v1 "github.com/kennel-dev/kennel/api/v1"
)

// authorize decides whether id may make the request. The viewer role reads
// Secrets with every value emptied (reveal). Checks that depend on
// the stored object (a node writing a pod's status) are made by the
// handlers through authorizeObject.
func authorize(id *Identity, info *requestInfo) error {
	read := info.Verb == verbGet || info.Verb == verbList || info.Verb == verbWatch
	switch id.Role {
	case RoleAdmin:
		return nil
	case RoleViewer:
		if read {
			return nil
		}
		return forbidden(id, info, "the viewer role is read-only")
	case RoleNode:
		if info.proxied() {
			return forbidden(id, info, "the node role may not read pod logs or run commands in pods")
		}
		if info.Kind.Resource == "secrets" && read && info.Verb != verbGet {
			// The get handler checks that a pod bound to the node uses it.
			return forbidden(id, info, "a node may only get, by name, the secrets of pods bound to it")
		}
		if read {
			return nil
		}
		return authorizeNodeWrite(id, info)
	case RoleCluster:
		if info.proxied() {
			return forbidden(id, info, "the cluster role may not read pod logs or run commands in pods")
		}
		if read {
			return authorizeClusterRead(id, info)
		}
		return authorizeClusterWrite(id, info)
	}
	return forbidden(id, info, "unknown role")
}

// nodeLeaseNamespace holds the heartbeat Lease of each node.
const nodeLeaseNamespace = v1.NamespaceLeases

func authorizeNodeWrite(id *Identity, info *requestInfo) error {
	switch info.Kind.Resource {
	case "nodes":
		if info.Verb == verbDelete {
			return forbidden(id, info, "a node may not delete Node objects")
		}
		// Create names the node in the body; the handler checks it.
		if info.Verb == verbCreate || id.Node == "" || info.Name == id.Node {
			return nil
		}
		return forbidden(id, info, "a node may write only its own Node "+quote(id.Node))
	case "leases":
		if info.Namespace == nodeLeaseNamespace && info.Verb != verbDelete &&
			(info.Verb == verbCreate || (id.Node != "" && info.Name == id.Node)) {
			return nil
		}
		return forbidden(id, info, "a node may write only its own Lease in "+nodeLeaseNamespace)
	case "pods":
		if id.Node != "" && (info.Subresource == "status" || info.Verb == verbDelete) {
			return nil // the handler checks that the pod is bound to this node
		}
		return forbidden(id, info, "a node may write only the status of pods bound to it")
	case "persistentvolumes":
		if id.Node != "" {
			return nil // the handler checks the volume is carved from this node
		}
		return forbidden(id, info, "a node token must register its Node before it writes volumes")
	case "events":
		if info.Verb == verbCreate || info.Verb == verbUpdate || info.Verb == verbPatch {
			return nil
		}
	}
	return forbidden(id, info, "the node role may not "+info.Verb+" "+info.Kind.Resource)
}

// authorizeClusterRead lets a member's federation agent read what it
// needs and no more: Clusters, the federation's FederatedEndpoints and
// description, its own Works and its own Lease.
func authorizeClusterRead(id *Identity, info *requestInfo) error {
	switch info.Kind.Resource {
	case "clusters", "federatedendpoints":
		return nil
	case "works":
		if id.Node != "" && info.Namespace == v1.MemberNamespace(id.Node) {
			return nil
		}
		return forbidden(id, info, "a member may read only the Works in its own namespace "+quote(v1.MemberNamespace(id.Node)))
	case "leases":
		if info.Namespace == v1.NamespaceClusterLeases && id.Node != "" && info.Name == id.Node {
			return nil
		}
		return forbidden(id, info, "a member may read only its own Lease in "+v1.NamespaceClusterLeases)
	case "configmaps":
		if info.Verb == verbGet && info.Namespace == v1.NamespaceSystem && info.Name == v1.FederationInfoConfigMap {
			return nil
		}
		return forbidden(id, info, "a member may read only the ConfigMap "+v1.NamespaceSystem+"/"+v1.FederationInfoConfigMap)
	}
	return forbidden(id, info, "the cluster role may not read "+info.Kind.Resource)
}

// authorizeClusterWrite lets a member register and renew itself and
// report the status of its Works. Create binds an unbound token to the
// Cluster it registers (the handler checks the name in the body).
func authorizeClusterWrite(id *Identity, info *requestInfo) error {
	own := id.Node != "" && info.Name == id.Node
	switch info.Kind.Resource {
	case "clusters":
		if info.Verb == verbCreate || own {
			return nil
		}
		return forbidden(id, info, "a member may write only its own Cluster "+quote(id.Node))
	case "leases":
		if info.Namespace == v1.NamespaceClusterLeases && (info.Verb == verbCreate || own) {
			return nil
		}
		return forbidden(id, info, "a member may write only its own Lease in "+v1.NamespaceClusterLeases)
	case "works":
		if id.Node != "" && info.Namespace == v1.MemberNamespace(id.Node) && info.Subresource == "status" {
			return nil
		}
		return forbidden(id, info, "a member may write only the status of the Works in its own namespace")
	case "events":
		if info.Verb == verbCreate || info.Verb == verbUpdate || info.Verb == verbPatch {
			return nil
		}
	}
	return forbidden(id, info, "the cluster role may not "+info.Verb+" "+info.Kind.Resource)
}

// authorizeObject checks rules that need the object: a node token may
// only create its own Node and Lease, touch pods bound to it, and write
// the local volumes carved from its own devices.
func authorizeObject(id *Identity, info *requestInfo, m *v1.ObjectMeta, nodeName string) error {
	if id.Role == RoleCluster {
		if (info.Kind.Resource == "clusters" || info.Kind.Resource == "leases") && id.Node != "" && m.Name != id.Node {
			return forbidden(id, info, "a member may write only its own "+info.Kind.Kind+" "+quote(id.Node))
		}
		if info.Kind.Resource == "leases" && id.Node == "" {
			return forbidden(id, info, "a member token must register its Cluster before it writes a Lease")
		}
		return nil
	}
	if id.Role != RoleNode {
		return nil
	}
	switch info.Kind.Resource {
	case "nodes":
		if id.Node != "" && m.Name != id.Node {
			return forbidden(id, info, "a node may write only its own Node "+quote(id.Node))
		}
	case "leases":
		if id.Node == "" {
			return forbidden(id, info, "a node token must register its Node before it writes a Lease")
		}
		if m.Name != id.Node {
			return forbidden(id, info, "a node may write only its own Lease "+quote(id.Node))
		}
	case "persistentvolumes":
		if m.Annotations[v1.AnnotationVolumeNode] != id.Node || m.Annotations[v1.AnnotationProvisionedBy] != v1.ProvisionerLocal {
			return forbidden(id, info, "a node may write only the local volumes carved from its own storage (annotations "+
				v1.AnnotationVolumeNode+"="+quote(id.Node)+", "+v1.AnnotationProvisionedBy+"="+quote(v1.ProvisionerLocal)+")")
		}
	case "pods":
		if nodeName != id.Node {
			return forbidden(id, info, "pod "+quote(m.Name)+" is not bound to node "+quote(id.Node))
		}
	}
	return nil
}

func forbidden(id *Identity, info *requestInfo, why string) error {
	what := info.Kind.Resource
	if info.Subresource != "" {
		what += "/" + info.Subresource
	}
	if info.Name != "" {
		what += " " + quote(info.Name)
	}
	if info.Namespace != "" {
		what += " in namespace " + quote(info.Namespace)
	}
	who := string(id.Role)
	if id.Node != "" {
		who += " " + quote(id.Node)
	}
	return v1.NewError(v1.ReasonForbidden, "%s cannot %s %s: %s", who, info.Verb, what, why)
}

func quote(s string) string { return "\"" + s + "\"" }
