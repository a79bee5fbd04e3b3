package apiserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// Role is what a token may do.
type Role string

// The roles.
const (
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
	// RoleViewer may read everything except secret values.
	RoleViewer Role = "viewer"
	// RoleNode may read, and write only its own Node, its Lease, the status
	// of pods bound to it, and Events.
	RoleNode Role = "node"
	// RoleCluster is for a member cluster's federation agent: it may
	// register one Cluster, renew its Lease, read its own Works and write
	// their status, and read the federation's DNS records.
	RoleCluster Role = "cluster"
)

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleViewer, RoleNode, RoleCluster:
		return r, nil
	}
	return "", fmt.Errorf("role %q is not known: use admin, viewer, node or cluster", s)
}

// TokenInfo is a token as stored: the secret only as a hash.
type TokenInfo struct {
	ID          string    `json:"id"`
	SecretHash  string    `json:"secretHash,omitempty"`
	Role        Role      `json:"role"`
	Node        string    `json:"node,omitempty"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires,omitzero"`
}

// Identity is an authenticated caller.
type Identity struct {
	TokenID string
	Role    Role
	// Node is the node a node token acts for, or the member cluster a
	// cluster token acts for; empty until it registers one.
	Node string
}

// tokens authenticates bearer tokens of the form "<id>.<secret>" against
// records in the store, caching what it has read.
type tokens struct {
	st     *store.Store
	mu     sync.RWMutex
	cache  map[string]cachedToken
	prefix string
}

// tokenCacheTTL bounds how long a token revoked through another API
// server keeps working here.
const tokenCacheTTL = 10 * time.Second

type cachedToken struct {
	info    *TokenInfo
	fetched time.Time
}

func newTokens(st *store.Store) *tokens {
	return &tokens{st: st, cache: map[string]cachedToken{}, prefix: st.Prefix() + "/_tokens/"}
}

const tokenAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomFrom returns n random characters of alphabet.
func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand never fails on Linux (it panics if it would)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// create stores a new token and returns its plain text, which is never
// stored and cannot be read again.
func (t *tokens) create(ctx context.Context, info TokenInfo) (string, *TokenInfo, error) {
	info.ID = randomFrom(tokenAlphabet, 6)
	secret := randomFrom(tokenAlphabet, 16)
	info.SecretHash = hashSecret(secret)
	info.Created = time.Now().UTC()
	b, _ := json.Marshal(info)
	if _, err := t.st.Create(ctx, t.prefix+info.ID, b); err != nil {
		return "", nil, fmt.Errorf("apiserver: store token: %w", err)
	}
	return info.ID + "." + secret, &info, nil
}

// authenticate maps a bearer token to an identity.
func (t *tokens) authenticate(ctx context.Context, token string) (*Identity, error) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok || id == "" || secret == "" {
		return nil, errors.New("malformed token")
	}
	info, err := t.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(info.SecretHash)) != 1 {
		return nil, errors.New("invalid token")
	}
	if !info.Expires.IsZero() && time.Now().After(info.Expires) {
		return nil, errors.New("token expired")
	}
	return &Identity{TokenID: info.ID, Role: info.Role, Node: info.Node}, nil
}

func (t *tokens) lookup(ctx context.Context, id string) (*TokenInfo, error) {
	t.mu.RLock()
	c, ok := t.cache[id]
	t.mu.RUnlock()
	if ok && time.Since(c.fetched) < tokenCacheTTL {
		return c.info, nil
	}
	kv, err := t.st.Get(ctx, t.prefix+id)
	if errors.Is(err, store.ErrNotFound) {
		t.forget(id)
		return nil, errors.New("invalid token")
	}
	if err != nil {
		return nil, err
	}
	info := &TokenInfo{}
	if err := json.Unmarshal(kv.Value, info); err != nil {
		return nil, fmt.Errorf("apiserver: token %s: %w", id, err)
	}
	t.mu.Lock()
	t.cache[id] = cachedToken{info: info, fetched: time.Now()}
	t.mu.Unlock()
	return info, nil
}

func (t *tokens) forget(id string) {
	t.mu.Lock()
	delete(t.cache, id)
	t.mu.Unlock()
}

// bindNode ties an unbound node token to the node it registers, once.
func (t *tokens) bindNode(ctx context.Context, id, node string) error {
	kv, err := t.st.Get(ctx, t.prefix+id)
	if err != nil {
		return err
	}
	var info TokenInfo
	if err := json.Unmarshal(kv.Value, &info); err != nil {
		return err
	}
	if info.Node != "" && info.Node != node {
		return v1.NewError(v1.ReasonForbidden, "token is bound to %s %q", map[Role]string{RoleCluster: "cluster"}[info.Role]+map[Role]string{RoleNode: "node"}[info.Role], info.Node)
	}
	info.Node = node
	b, _ := json.Marshal(info)
	if _, _, err := t.st.Update(ctx, t.prefix+id, b, kv.Revision); err != nil {
		return err
	}
	t.forget(id)
	return nil
}

// list returns every token without its secret hash.
func (t *tokens) list(ctx context.Context) ([]TokenInfo, error) {
	res, err := t.st.List(ctx, t.prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]TokenInfo, 0, len(res.KVs))
	for _, kv := range res.KVs {
		var info TokenInfo
		if json.Unmarshal(kv.Value, &info) == nil {
			info.SecretHash = ""
			out = append(out, info)
		}
	}
	return out, nil
}

// revoke deletes a token; requests with it fail from then on.
func (t *tokens) revoke(ctx context.Context, id string) error {
	_, _, err := t.st.Delete(ctx, t.prefix+id, 0)
	t.forget(id)
	return err
}
