package apiserver

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/kennel-dev/kennel/internal/atomicfile"
)

// Secrets are stored encrypted at rest, in Kubernetes' envelope format:
//
//	k8s:enc:aesgcm:v1:<key name>:<12-byte nonce><AES-256-GCM ciphertext and tag>
//
// The additional authenticated data is the object's store key, so a
// ciphertext moved to another key does not decrypt.
//
// The key file holds one key per line, "<name> <base64 of 32 bytes>",
// ordered: the first encrypts, every one decrypts. Blank lines and lines
// starting with # are ignored. The file is written with mode 0600.

// envelopePrefix starts every encrypted value; the key name and a colon
// follow it.
const envelopePrefix = "k8s:enc:aesgcm:v1:"

const (
	secretKeySize = 32
	nonceSize     = 12
)

// keyName is what a key may be called: it is written into every value it
// encrypts, before a colon.
var keyName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// errCannotDecrypt is why a stored secret cannot be read; the message never
// holds key material or data.
var errCannotDecrypt = errors.New("apiserver: secrets: stored value cannot be decrypted")

// secretKey is one named AES-256 key.
type secretKey struct {
	name string
	aead cipher.AEAD
	raw  []byte
}

// keyring is an immutable, ordered set of keys: keys[0] encrypts.
type keyring struct {
	keys []*secretKey
}

func newSecretKey(name string, raw []byte) (*secretKey, error) {
	if !keyName.MatchString(name) {
		return nil, fmt.Errorf("key name %q: must be 1-64 letters, digits, '.', '_' or '-'", name)
	}
	if len(raw) != secretKeySize {
		return nil, fmt.Errorf("key %q: must be %d bytes, got %d", name, secretKeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", name, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", name, err)
	}
	return &secretKey{name: name, aead: aead, raw: raw}, nil
}

// generateSecretKey makes a fresh random key named after the time.
func generateSecretKey(now time.Time) (*secretKey, error) {
	raw := make([]byte, secretKeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	var suffix [3]byte
	rand.Read(suffix[:])
	return newSecretKey("key-"+now.UTC().Format("20060102T150405Z")+"-"+hex.EncodeToString(suffix[:]), raw)
}

// primary is the key that encrypts.
func (k *keyring) primary() *secretKey { return k.keys[0] }

func (k *keyring) byName(name string) *secretKey {
	for _, key := range k.keys {
		if key.name == name {
			return key
		}
	}
	return nil
}

// seal encrypts plain with the primary key, bound to the store key.
func (k *keyring) seal(storeKey string, plain []byte) ([]byte, error) {
	key := k.primary()
	nonce := make([]byte, nonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("apiserver: secrets: nonce: %w", err)
	}
	out := make([]byte, 0, len(envelopePrefix)+len(key.name)+1+nonceSize+len(plain)+key.aead.Overhead())
	out = append(append(append(out, envelopePrefix...), key.name...), ':')
	out = append(out, nonce...)
	return key.aead.Seal(out, nonce, plain, []byte(storeKey)), nil
}

// encrypted reports whether a stored value is in the envelope format, and
// names its key.
func encrypted(stored []byte) (keyName string, ok bool) {
	rest, ok := bytes.CutPrefix(stored, []byte(envelopePrefix))
	if !ok {
		return "", false
	}
	name, _, found := bytes.Cut(rest, []byte{':'})
	if !found {
		return "", true
	}
	return string(name), true
}

// open decrypts a stored value. A value that is not in the envelope format
// is plain JSON written before encryption, and is returned as it is.
func (k *keyring) open(storeKey string, stored []byte) ([]byte, error) {
	if !bytes.HasPrefix(stored, []byte("k8s:enc:")) {
		return stored, nil
	}
	rest, ok := bytes.CutPrefix(stored, []byte(envelopePrefix))
	if !ok {
		return nil, fmt.Errorf("%w: unknown encryption provider", errCannotDecrypt)
	}
	name, sealed, found := bytes.Cut(rest, []byte{':'})
	if !found || len(sealed) < nonceSize {
		return nil, fmt.Errorf("%w: truncated envelope", errCannotDecrypt)
	}
	key := k.byName(string(name))
	if key == nil {
		return nil, fmt.Errorf("%w: key %q is not in the key file", errCannotDecrypt, name)
	}
	plain, err := key.aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], []byte(storeKey))
	if err != nil {
		return nil, fmt.Errorf("%w: key %q does not authenticate it (wrong key, or the value was moved or altered)", errCannotDecrypt, name)
	}
	return plain, nil
}

// loadKeyring reads the key file at path, creating it with one new key
// when it does not exist. An empty path keeps a new key in memory only.
func loadKeyring(path string) (*keyring, error) {
	if path == "" {
		key, err := generateSecretKey(time.Now())
		if err != nil {
			return nil, fmt.Errorf("apiserver: secrets: generate key: %w", err)
		}
		return &keyring{keys: []*secretKey{key}}, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := generateSecretKey(time.Now())
		if err != nil {
			return nil, fmt.Errorf("apiserver: secrets: generate key: %w", err)
		}
		ring := &keyring{keys: []*secretKey{key}}
		return ring, saveKeyring(path, ring)
	}
	if err != nil {
		return nil, fmt.Errorf("apiserver: secrets: read key file: %w", err)
	}
	return parseKeyring(path, b)
}

func parseKeyring(path string, b []byte) (*keyring, error) {
	ring := &keyring{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("apiserver: secrets: key file %s line %d: want \"<name> <base64 key>\"", path, line)
		}
		raw, err := base64.StdEncoding.DecodeString(fields[1])
		if err != nil {
			return nil, fmt.Errorf("apiserver: secrets: key file %s line %d: key is not base64", path, line)
		}
		key, err := newSecretKey(fields[0], raw)
		if err != nil {
			return nil, fmt.Errorf("apiserver: secrets: key file %s line %d: %w", path, line, err)
		}
		if ring.byName(key.name) != nil {
			return nil, fmt.Errorf("apiserver: secrets: key file %s line %d: key %q appears twice", path, line, key.name)
		}
		ring.keys = append(ring.keys, key)
	}
	if len(ring.keys) == 0 {
		return nil, fmt.Errorf("apiserver: secrets: key file %s: holds no key", path)
	}
	return ring, nil
}

// saveKeyring writes ring to path (mode 0600); an empty path is a no-op.
func saveKeyring(path string, ring *keyring) error {
	if path == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("# Kennel secret encryption keys: \"<name> <base64 32-byte key>\".\n")
	b.WriteString("# The first key encrypts; every key decrypts. Keep this file secret.\n")
	for _, k := range ring.keys {
		b.WriteString(k.name + " " + base64.StdEncoding.EncodeToString(k.raw) + "\n")
	}
	if err := atomicfile.Write(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("apiserver: secrets: write key file: %w", err)
	}
	return nil
}
