package store

import (
	"context"
	"fmt"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Get reads key at the latest revision. ErrNotFound when it is absent.
func (s *Store) Get(ctx context.Context, key string) (*KV, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", key, redact(err))
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrNotFound
	}
	return fromEtcd(resp.Kvs[0]), nil
}

// GetLocal reads key from the local member without a quorum round trip.
// It may lag behind the latest revision on a follower, so use it only
// where a compare-and-swap or a later check catches a stale read.
func (s *Store) GetLocal(ctx context.Context, key string) (*KV, error) {
	resp, err := s.cli.Get(ctx, key, clientv3.WithSerializable())
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", key, redact(err))
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrNotFound
	}
	return fromEtcd(resp.Kvs[0]), nil
}
