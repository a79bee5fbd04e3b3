package store

import "go.etcd.io/etcd/api/v3/mvccpb"

// KV is one key with its value and revisions.
type KV struct {
	Key   string
	Value []byte
	// Revision is the revision that last modified the key (its
	// resourceVersion).
	Revision int64
	// CreateRevision is the revision that created the key.
	CreateRevision int64
}

func fromEtcd(kv *mvccpb.KeyValue) *KV {
	if kv == nil {
		return nil
	}
	return &KV{Key: string(kv.Key), Value: kv.Value, Revision: kv.ModRevision, CreateRevision: kv.CreateRevision}
}
