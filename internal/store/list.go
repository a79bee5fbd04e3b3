package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ListOptions selects a page of a prefix.
type ListOptions struct {
	// Revision reads at this revision; 0 reads the latest.
	Revision int64
	// Limit caps the number of keys returned; 0 means all.
	Limit int64
	// Continue resumes a paginated list; it carries its own revision.
	Continue string
}

// ListResult is one page of keys in key order.
type ListResult struct {
	KVs []*KV
	// Revision is the revision the page was read at; every page of one
	// paginated list reads at the same revision.
	Revision int64
	// Continue is set when more keys follow.
	Continue string
	// Remaining counts the keys after this page (when Continue is set).
	Remaining int64
}

type continueToken struct {
	Rev   int64  `json:"rev"`
	Start string `json:"start"`
}

// List reads the keys under prefix. A page read from a compacted revision
// (also through a stale continue token) fails with ErrCompacted.
func (s *Store) List(ctx context.Context, prefix string, opts ListOptions) (*ListResult, error) {
	start, rev := prefix, opts.Revision
	if opts.Continue != "" {
		tok, err := decodeContinue(opts.Continue, prefix)
		if err != nil {
			return nil, err
		}
		start, rev = tok.Start, tok.Rev
	}
	ops := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))}
	if rev > 0 {
		ops = append(ops, clientv3.WithRev(rev))
	}
	if opts.Limit > 0 {
		ops = append(ops, clientv3.WithLimit(opts.Limit))
	}
	resp, err := s.cli.Get(ctx, start, ops...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", prefix, mapErr(err))
	}
	out := &ListResult{Revision: resp.Header.Revision, KVs: make([]*KV, len(resp.Kvs))}
	if rev > 0 {
		out.Revision = rev
	}
	for i, kv := range resp.Kvs {
		out.KVs[i] = fromEtcd(kv)
	}
	if resp.More && len(resp.Kvs) > 0 {
		last := string(resp.Kvs[len(resp.Kvs)-1].Key)
		out.Continue = encodeContinue(continueToken{Rev: out.Revision, Start: last + "\x00"})
		out.Remaining = resp.Count - int64(len(resp.Kvs))
	}
	return out, nil
}

func encodeContinue(t continueToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s, prefix string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &t) != nil || t.Rev <= 0 || !strings.HasPrefix(t.Start, prefix) {
		return t, ErrBadContinue
	}
	return t, nil
}
