package store

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Delete removes key if its revision is rev (any revision when rev is 0)
// and returns the deleted KV and the revision of the delete. ErrNotFound
// when the key is absent; ErrConflict, with the current KV, when it changed.
func (s *Store) Delete(ctx context.Context, key string, rev int64) (*KV, int64, error) {
	cmp := clientv3.Compare(clientv3.ModRevision(key), "=", rev)
	if rev == 0 {
		cmp = clientv3.Compare(clientv3.ModRevision(key), ">", 0)
	}
	resp, err := s.cli.Txn(ctx).
		If(cmp).
		Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return nil, 0, fmt.Errorf("store: delete %s: %w", key, redact(err))
	}
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return nil, 0, ErrNotFound
		}
		return fromEtcd(kvs[0]), 0, ErrConflict
	}
	prev := resp.Responses[0].GetResponseDeleteRange().PrevKvs
	if len(prev) == 0 {
		return nil, 0, ErrNotFound
	}
	return fromEtcd(prev[0]), resp.Header.Revision, nil
}
