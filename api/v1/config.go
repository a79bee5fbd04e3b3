package v1

import "encoding/json"

// ConfigMap holds configuration as key/value pairs that pods consume as
// environment variables or files.
type ConfigMap struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	// Immutable, once true, forbids changing the data.
	Immutable  *bool             `json:"immutable,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

// SecretType says what a secret holds and which keys it must have.
type SecretType string

// The secret types.
const (
	SecretTypeOpaque           SecretType = "Opaque"
	SecretTypeServiceAccount   SecretType = "kubernetes.io/service-account-token"
	SecretTypeDockerConfigJSON SecretType = "kubernetes.io/dockerconfigjson"
	SecretTypeBasicAuth        SecretType = "kubernetes.io/basic-auth"
	SecretTypeSSHAuth          SecretType = "kubernetes.io/ssh-auth"
	SecretTypeTLS              SecretType = "kubernetes.io/tls"
)

// Secret holds sensitive data. Data values are base64 on the wire;
// stringData is write-only plain text merged into data by defaulting.
type Secret struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	// Immutable, once true, forbids changing the data.
	Immutable  *bool             `json:"immutable,omitempty"`
	Data       map[string][]byte `json:"data,omitempty"`
	StringData map[string]string `json:"stringData,omitempty"`
	Type       SecretType        `json:"type,omitempty"`
}

// ControllerRevision is an immutable snapshot of a controller's template
// (a PetSet's pod template), numbered by revision.
type ControllerRevision struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	// Data is the snapshot, opaque to the API (runtime.RawExtension in
	// Kubernetes).
	Data     json.RawMessage `json:"data,omitempty"`
	Revision int64           `json:"revision"`
}
