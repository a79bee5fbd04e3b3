package transfer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kennel-dev/kennel/internal/atomicfile"
)

// state is what a restore has done, kept outside the directory it fills.
// Everything it records as done was flushed to disk before it was
// written (a checkpoint: syncfs of dir's filesystem, then the state).
type state struct {
	// ID is the restore the state belongs to; a state of another ID is
	// not used.
	ID string `json:"id"`
	// Files are the files copied and verified, by path.
	Files map[string]fileState `json:"files"`
	// Partial is the file being copied at the last checkpoint: the only
	// one whose bytes on disk may be continued rather than rewritten.
	Partial string `json:"partial,omitempty"`
	// Complete: every entry is in place and flushed.
	Complete bool `json:"complete,omitempty"`
}

// fileState identifies a copied file, so that a file changed since is
// copied again.
type fileState struct {
	Size   int64  `json:"size"`
	MTime  int64  `json:"mtime"`
	SHA256 string `json:"sha256"`
}

// loadState reads the state at path for restore id; a missing,
// unreadable or foreign one starts afresh.
func loadState(path, id string) *state {
	fresh := &state{ID: id, Files: map[string]fileState{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return fresh
	}
	s := &state{}
	if json.Unmarshal(b, s) != nil || s.ID != id {
		return fresh
	}
	if s.Files == nil {
		s.Files = map[string]fileState{}
	}
	return s
}

// save writes the state atomically; the caller has flushed what it
// records.
func (s *state) save(path string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("transfer: state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("transfer: state: %w", err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("transfer: state: %w", err)
	}
	return nil
}
