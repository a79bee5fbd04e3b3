package v1

// Namespace groups namespaced objects; deleting it deletes everything in it.
type Namespace struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       NamespaceSpec   `json:"spec,omitempty"`
	Status     NamespaceStatus `json:"status,omitempty"`
}

// NamespaceSpec is empty; it exists for Kubernetes compatibility.
type NamespaceSpec struct {
	Finalizers []string `json:"finalizers,omitempty"`
}

// NamespaceStatus says whether the namespace is being deleted.
type NamespaceStatus struct {
	// Phase is Active or Terminating.
	Phase string `json:"phase,omitempty"`
}

// Namespace phases.
const (
	NamespaceActive      = "Active"
	NamespaceTerminating = "Terminating"
)

// Well-known namespaces that exist from the start.
const (
	NamespaceDefault = "default"
	NamespaceSystem  = "kennel-system"
	NamespaceLeases  = "kennel-node-lease"
)
