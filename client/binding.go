package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// BindPod binds the pod namespace/name, when its UID is uid (any pod of
// that name when uid is ""), to node through the binding subresource, as
// Kubernetes schedulers and scheduler extenders do. It fails with a
// Conflict error when the pod is bound already or has another UID.
func BindPod(ctx context.Context, c *Client, namespace, name, uid, node string) error {
	var b struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			UID       string `json:"uid,omitempty"`
		} `json:"metadata"`
		Target struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"target"`
	}
	b.APIVersion, b.Kind = "v1", "Binding"
	b.Metadata.Name, b.Metadata.Namespace, b.Metadata.UID = name, namespace, uid
	b.Target.Kind, b.Target.Name = "Node", node
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("client: bind pod %s/%s: %w", namespace, name, err)
	}
	path := "/api/v1/namespaces/" + url.PathEscape(namespace) + "/pods/" + url.PathEscape(name) + "/binding"
	_, err = c.Do(ctx, http.MethodPost, path, body, "")
	return err
}
