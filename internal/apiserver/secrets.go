package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	v1 "github.com/kennel-dev/kennel/api/v1"
	"github.com/kennel-dev/kennel/internal/store"
)

// secretCrypt encrypts Secrets on their way into the store and decrypts
// them on the way out. Every other resource passes through untouched.
type secretCrypt struct {
	// path is the key file ("" keeps the keys in memory only).
	path string
	// prefix is the store prefix of every Secret.
	prefix string
	ring   atomic.Pointer[keyring]
	// writes is held for reading by each write of a Secret from sealing to
	// the store's answer, and for writing while the keyring changes, so
	// that once a new key is primary no value sealed with an older key is
	// still on its way to the store.
	writes sync.RWMutex
	// rotating serializes key rotations.
	rotating sync.Mutex
}

func newSecretCrypt(path, prefix string) (*secretCrypt, error) {
	ring, err := loadKeyring(path)
	if err != nil {
		return nil, err
	}
	c := &secretCrypt{path: path, prefix: prefix}
	c.ring.Store(ring)
	return c, nil
}

func (c *secretCrypt) isSecret(key string) bool { return strings.HasPrefix(key, c.prefix) }

// open returns kv with its value decrypted; kv itself is not modified.
func (c *secretCrypt) open(kv *store.KV) (*store.KV, error) {
	if kv == nil || !c.isSecret(kv.Key) {
		return kv, nil
	}
	plain, err := c.ring.Load().open(kv.Key, kv.Value)
	if err != nil {
		return nil, v1.NewError(v1.ReasonInternal, "secret %s: %v", strings.TrimPrefix(kv.Key, c.prefix), err)
	}
	out := *kv
	out.Value = plain
	return &out, nil
}

// sealed calls write with b as it must be stored under key: encrypted for
// a Secret. A key change waits until write has returned.
func (c *secretCrypt) sealed(key string, b []byte, write func(stored []byte) error) error {
	if !c.isSecret(key) {
		return write(b)
	}
	c.writes.RLock()
	defer c.writes.RUnlock()
	stored, err := c.ring.Load().seal(key, b)
	if err != nil {
		return err
	}
	return write(stored)
}

// setKeyring saves ring to the key file and makes it current, once no
// write sealed with the previous keyring is in flight.
func (c *secretCrypt) setKeyring(ring *keyring) error {
	c.writes.Lock()
	defer c.writes.Unlock()
	if err := saveKeyring(c.path, ring); err != nil {
		return err
	}
	c.ring.Store(ring)
	return nil
}

// errWrongKey is the start-up error when the key file cannot read what is
// stored.
var errWrongKey = errors.New("apiserver: secrets: the encryption key cannot decrypt stored secrets (wrong --encryption-key-file?)")

// verify decrypts the first encrypted Secret in the store, so that a wrong
// key file stops the server at start rather than at the first read.
func (c *secretCrypt) verify(ctx context.Context, st *store.Store) error {
	opts := store.ListOptions{Limit: 100}
	for {
		res, err := st.List(ctx, c.prefix, opts)
		if err != nil {
			return fmt.Errorf("apiserver: secrets: list: %w", err)
		}
		for _, kv := range res.KVs {
			if _, ok := encrypted(kv.Value); !ok {
				continue
			}
			if _, err := c.ring.Load().open(kv.Key, kv.Value); err != nil {
				return fmt.Errorf("%w: %w", errWrongKey, err)
			}
			return nil
		}
		if res.Continue == "" {
			return nil
		}
		opts.Continue = res.Continue
	}
}

// reveal is kv as the caller may read it: decrypted, and for the viewer
// role with every Secret value emptied (the keys are kept, so a viewer
// sees what a Secret holds but not the values).
func (s *Server) reveal(id *Identity, kv *store.KV) (*store.KV, error) {
	if kv == nil || !s.secrets.isSecret(kv.Key) {
		return kv, nil
	}
	out, err := s.secrets.open(kv)
	if err != nil || id.Role != RoleViewer {
		return out, err
	}
	if out.Value, err = redactSecret(out.Value); err != nil {
		return nil, v1.NewError(v1.ReasonInternal, "secret %s cannot be decoded", strings.TrimPrefix(kv.Key, s.secrets.prefix))
	}
	return out, nil
}

// revealEvent applies reveal to both sides of a watch event.
func (s *Server) revealEvent(id *Identity, ev store.Event) (store.Event, error) {
	if ev.Err != nil || ev.KV == nil || !s.secrets.isSecret(ev.KV.Key) {
		return ev, nil
	}
	var err error
	if ev.KV, err = s.reveal(id, ev.KV); err != nil {
		return ev, err
	}
	ev.PrevKV, err = s.reveal(id, ev.PrevKV)
	return ev, err
}

// redactSecret empties every value of a stored Secret's data.
func redactSecret(b []byte) ([]byte, error) {
	var sec v1.Secret
	if err := json.Unmarshal(b, &sec); err != nil {
		return nil, err
	}
	for k := range sec.Data {
		sec.Data[k] = []byte{}
	}
	sec.StringData = nil
	return json.Marshal(&sec)
}

// authorizeSecretRead lets a node read a Secret only when a pod bound to
// it uses the Secret (an env var, envFrom or a volume).
func (s *Server) authorizeSecretRead(ctx context.Context, id *Identity, info *requestInfo) error {
	if id.Role != RoleNode || info.Kind.Resource != "secrets" {
		return nil
	}
	if id.Node == "" {
		return forbidden(id, info, "a node token must register its Node before it reads secrets")
	}
	podKind, ok := s.reg.ByResource("pods")
	if !ok {
		return forbidden(id, info, "no pod uses it")
	}
	opts := store.ListOptions{Limit: 500}
	for {
		res, err := s.st.List(ctx, s.listPrefix(podKind, info.Namespace), opts)
		if err != nil {
			return err
		}
		for _, kv := range res.KVs {
			if nodeNameOf(kv.Value) != id.Node {
				continue
			}
			var pod v1.Pod
			if json.Unmarshal(kv.Value, &pod) == nil && podUsesSecret(&pod.Spec, info.Name) {
				return nil
			}
		}
		if res.Continue == "" {
			return forbidden(id, info, "no pod bound to node "+quote(id.Node)+" uses it")
		}
		opts.Continue = res.Continue
	}
}

// podUsesSecret reports whether a pod spec refers to the named Secret.
func podUsesSecret(spec *v1.PodSpec, name string) bool {
	for _, v := range spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == name {
			return true
		}
		if v.FlexVolume != nil && v.FlexVolume.SecretRef != nil && v.FlexVolume.SecretRef.Name == name {
			return true
		}
	}
	for _, cs := range [][]v1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			for _, e := range cs[i].EnvFrom {
				if e.SecretRef != nil && e.SecretRef.Name == name {
					return true
				}
			}
			for _, e := range cs[i].Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == name {
					return true
				}
			}
		}
	}
	return false
}
