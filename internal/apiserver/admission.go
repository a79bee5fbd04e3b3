package apiserver

import (
	"context"
	"encoding/json"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// admit changes a new object as Kubernetes' mutating admission does,
// before it is validated. A claim that names no storage class gets the
// default class (the newest annotated storageclass.kubernetes.io/
// is-default-class=true, then the first by name), so that every component
// sees the class the claim will keep; "" stays "" (no class, as in
// Kubernetes).
func (s *Server) admit(ctx context.Context, info *requestInfo, obj v1.Object) error {
	c, ok := obj.(*v1.PersistentVolumeClaim)
	if !ok || c.Spec.StorageClassName != nil {
		return nil
	}
	name, err := s.defaultStorageClass(ctx)
	if err != nil || name == "" {
		return err
	}
	c.Spec.StorageClassName = &name
	return nil
}

func (s *Server) defaultStorageClass(ctx context.Context) (string, error) {
	kind, ok := s.reg.ByResource("storageclasses")
	if !ok {
		return "", nil
	}
	res, err := s.st.List(ctx, s.listPrefix(kind, ""), store.ListOptions{})
	if err != nil {
		return "", err
	}
	var best *v1.StorageClass
	for _, kv := range res.KVs {
		var sc v1.StorageClass
		if json.Unmarshal(kv.Value, &sc) != nil || sc.Annotations[v1.AnnotationDefaultStorageClass] != "true" {
			continue
		}
		if best == nil || (sc.CreationTimestamp != nil && (best.CreationTimestamp == nil || sc.CreationTimestamp.After(best.CreationTimestamp.Time))) {
			best = &sc
		}
	}
	if best == nil {
		return "", nil
	}
	return best.Name, nil
}
