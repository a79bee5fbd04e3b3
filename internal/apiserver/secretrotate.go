package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// RotateKeyPath is the admin-only endpoint that rotates the Secret
// encryption key (POST, no body).
const RotateKeyPath = "/kennel/v1/secrets/rotate-key"

// RotateKeyResponse is the answer of a key rotation.
type RotateKeyResponse struct {
	// Key names the new key, which now encrypts every Secret.
	Key string `json:"key"`
	// Reencrypted counts the Secrets written again with the new key.
	Reencrypted int `json:"reencrypted"`
	// Secrets counts every Secret seen.
	Secrets int `json:"secrets"`
}

// serveRotateKey rotates the key; admins only.
func (s *Server) serveRotateKey(w http.ResponseWriter, r *http.Request, id *Identity) {
	if id.Role != RoleAdmin {
		writeError(w, v1.NewError(v1.ReasonForbidden, "%s cannot rotate the secret encryption key: only the admin role may", id.Role))
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, v1.NewError(v1.ReasonMethodNotAllowed, "method %s is not allowed on %s: use POST", r.Method, r.URL.Path))
		return
	}
	resp, err := s.RotateSecretKey(r.Context())
	if err != nil {
		s.log.Error("secret key rotation failed", "err", err)
		writeError(w, err)
		return
	}
	s.log.Info("secret key rotated", "key", resp.Key, "reencrypted", resp.Reencrypted)
	writeJSON(w, http.StatusOK, resp)
}

// RotateSecretKey makes a new key primary (keeping the old ones to decrypt),
// re-encrypts every Secret with it, then drops the old keys from the key
// file. If it fails half way the old keys stay, so everything still reads,
// and running it again finishes the job.
func (s *Server) RotateSecretKey(ctx context.Context) (*RotateKeyResponse, error) {
	c := s.secrets
	c.rotating.Lock()
	defer c.rotating.Unlock()
	key, err := generateSecretKey(time.Now())
	if err != nil {
		return nil, fmt.Errorf("apiserver: secrets: generate key: %w", err)
	}
	old := c.ring.Load()
	if err := c.setKeyring(&keyring{keys: append([]*secretKey{key}, old.keys...)}); err != nil {
		return nil, err
	}
	resp := &RotateKeyResponse{Key: key.name}
	opts := store.ListOptions{Limit: 200}
	for {
		res, err := s.st.List(ctx, c.prefix, opts)
		if err != nil {
			return nil, fmt.Errorf("apiserver: secrets: rotate: list: %w", err)
		}
		for _, kv := range res.KVs {
			resp.Secrets++
			done, err := s.reencrypt(ctx, kv, key.name)
			if err != nil {
				return nil, err
			}
			if done {
				resp.Reencrypted++
			}
		}
		if res.Continue == "" {
			break
		}
		opts.Continue = res.Continue
	}
	if err := c.setKeyring(&keyring{keys: []*secretKey{key}}); err != nil {
		return nil, err
	}
	return resp, nil
}

// reencrypt writes one Secret again with the primary key named primary,
// conditionally on the value it read; on conflict it reads again (a
// concurrent write already used the new key, or is retried).
func (s *Server) reencrypt(ctx context.Context, kv *store.KV, primary string) (bool, error) {
	for attempt := 0; attempt < 20; attempt++ {
		if name, ok := encrypted(kv.Value); ok && name == primary {
			return false, nil
		}
		plain, err := s.secrets.open(kv)
		if err != nil {
			return false, err
		}
		err = s.secrets.sealed(kv.Key, plain.Value, func(stored []byte) error {
			_, _, err := s.st.Update(ctx, kv.Key, stored, kv.Revision)
			return err
		})
		switch {
		case err == nil:
			s.recent.drop(kv.Key)
			return true, nil
		case errors.Is(err, store.ErrConflict):
			kv, err = s.st.Get(ctx, kv.Key)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			if err != nil {
				return false, fmt.Errorf("apiserver: secrets: rotate: %w", err)
			}
		case errors.Is(err, store.ErrNotFound):
			return false, nil
		default:
			return false, fmt.Errorf("apiserver: secrets: rotate: %w", err)
		}
	}
	return false, v1.NewError(v1.ReasonConflict, "secret %s changes too often to re-encrypt; run the rotation again", kv.Key)
}
