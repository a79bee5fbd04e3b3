package apiserver

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// bootstrap creates the built-in namespaces if they are missing.
func (s *Server) bootstrap(ctx context.Context) error {
	kind, ok := s.reg.ByResource("namespaces")
	if !ok {
		return errors.New("apiserver: registry has no namespaces")
	}
	for _, name := range []string{v1.NamespaceDefault, v1.NamespaceSystem, v1.NamespaceLeases} {
		ns := &v1.Namespace{
			TypeMeta:   v1.TypeMeta{APIVersion: kind.APIVersion(), Kind: kind.Kind},
			ObjectMeta: v1.ObjectMeta{Name: name, UID: newUID(), CreationTimestamp: v1.Now(), Generation: 1},
			Status:     v1.NamespaceStatus{Phase: v1.NamespaceActive},
		}
		b, err := encodeForStore(ns)
		if err != nil {
			return err
		}
		if _, err := s.st.Create(ctx, s.key(kind, "", name), b); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("apiserver: create namespace %s: %w", name, err)
		}
	}
	return nil
}
