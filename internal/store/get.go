package store

import (
	"context"
	"fmt"
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
