package store

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Update writes key only if its revision is still rev, and returns the new
// revision. ErrNotFound when the key is gone, ErrConflict when it changed;
// in both cases the current KV (nil when gone) is returned so callers can
// retry without another read.
func (s *Store) Update(ctx context.Context, key string, value []byte, rev int64) (int64, *KV, error) {
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(clientv3.OpPut(key, string(value))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return 0, nil, fmt.Errorf("store: update %s: %w", key, redact(err))
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return 0, nil, ErrNotFound
	}
	return 0, fromEtcd(kvs[0]), ErrConflict
}
