package transfer

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
)

// HTTP names of the protocol.
const (
	// TrailerSHA256 carries the SHA-256 (hex) of the whole file, after
	// its bytes.
	TrailerSHA256 = "Kennel-Sha256"
	// HeaderSize is the whole file's size, which the served bytes end at.
	HeaderSize = "Kennel-Size"
)

// bufferSize is the size of the reads and writes of file data: large
// enough that per-call costs vanish next to the copy itself.
const bufferSize = 1 << 20

// Handler serves the tree at Root read-only to the bearer of the token
// whose SHA-256 is TokenSHA256: GET <any>/manifest and
// GET <any>/file?path=P&offset=O (the last element of the URL path picks
// the operation, so the handler can sit below any prefix).
type Handler struct {
	// Root is the directory served.
	Root string
	// TokenSHA256 is the hex SHA-256 of the accepted bearer token.
	TokenSHA256 string
	// Logger, if set, hears of requests that failed on the server's side.
	Logger *slog.Logger
}

// Authorized reports whether r carries a bearer token whose SHA-256 is
// tokenSHA256 (hex), compared in constant time. An empty tokenSHA256
// accepts no token.
func Authorized(r *http.Request, tokenSHA256 string) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" || tokenSHA256 == "" {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	got := hex.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToLower(tokenSHA256))) == 1
}

// TokenSHA256 is the hex SHA-256 of a token, as a claim's
// kennel.io/export-token-sha256 annotation holds it.
func TokenSHA256(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ServeHTTP answers one manifest or file request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "transfer: only GET is served", http.StatusMethodNotAllowed)
		return
	}
	if !Authorized(r, h.TokenSHA256) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "transfer: a valid bearer token is required", http.StatusUnauthorized)
		return
	}
	root, err := os.OpenRoot(h.Root)
	if err != nil {
		h.fail(w, fmt.Errorf("transfer: root: %w", err), http.StatusInternalServerError)
		return
	}
	defer root.Close()
	switch path.Base(r.URL.Path) {
	case "manifest":
		h.serveManifest(w, root)
	case "file":
		h.serveFile(w, r, root)
	default:
		http.Error(w, "transfer: no such operation (manifest or file)", http.StatusNotFound)
	}
}

func (h *Handler) fail(w http.ResponseWriter, err error, code int) {
	if h.Logger != nil && code >= 500 {
		h.Logger.Warn("volume export failed", "root", h.Root, "err", err)
	}
	http.Error(w, err.Error(), code)
}

func (h *Handler) serveManifest(w http.ResponseWriter, root *os.Root) {
	m, err := BuildManifest(root)
	if err != nil {
		h.fail(w, err, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(m)
}

// serveFile streams a regular file from the offset asked, hashing the
// part before it without sending it, so the trailer's checksum is of the
// whole file and a resumed copy is verified end to end.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, root *os.Root) {
	q := r.URL.Query()
	rel := q.Get("path")
	offset, err := strconv.ParseInt(q.Get("offset"), 10, 64)
	if q.Get("offset") == "" {
		offset, err = 0, nil
	}
	if err != nil || offset < 0 {
		h.fail(w, fmt.Errorf("transfer: offset %q is not a non-negative integer", q.Get("offset")), http.StatusBadRequest)
		return
	}
	f, size, code, err := openRegular(root, rel)
	if err != nil {
		h.fail(w, err, code)
		return
	}
	defer f.Close()
	if offset > size {
		h.fail(w, fmt.Errorf("transfer: offset %d is past the end of %s (%d bytes)", offset, rel, size), http.StatusRequestedRangeNotSatisfiable)
		return
	}
	w.Header().Set("Trailer", TrailerSHA256)
	w.Header().Set(HeaderSize, strconv.FormatInt(size, 10))
	w.Header().Set("Content-Type", "application/octet-stream")
	sum := sha256.New()
	buf := make([]byte, min(bufferSize, max(size, 1)))
	if _, err := io.CopyBuffer(sum, io.LimitReader(f, offset), buf); err != nil {
		h.fail(w, fmt.Errorf("transfer: read %s: %w", rel, err), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	if err := sendHashed(w, io.LimitReader(f, size-offset), sum, buf); err != nil {
		// A cut connection, not a short body the client could take for
		// the whole file.
		panic(http.ErrAbortHandler)
	}
	w.Header().Set(TrailerSHA256, hex.EncodeToString(sum.Sum(nil)))
}

// sendHashed copies src to w, hashing what it sends; the file is read
// while the last buffer is sent.
func sendHashed(w io.Writer, src io.Reader, sum io.Writer, buf []byte) error {
	read := func(b []byte) (int, error) {
		n, err := io.ReadFull(src, b)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return n, err
	}
	return pipe(len(buf), read, func(b []byte) error {
		sum.Write(b)
		_, err := w.Write(b)
		return err
	})
}

// openRegular opens rel for reading when it is a regular file reached
// through real directories only: no symlink on the way is followed, even
// one that stays inside the root. It returns the size at open and, on
// error, the HTTP status that says why.
func openRegular(root *os.Root, rel string) (*os.File, int64, int, error) {
	if !validPath(rel) {
		return nil, 0, http.StatusBadRequest, fmt.Errorf("transfer: path %q is not a relative path inside the volume", rel)
	}
	for dir := path.Dir(rel); dir != "."; dir = path.Dir(dir) {
		if st, err := root.Lstat(dir); err != nil || !st.IsDir() {
			return nil, 0, http.StatusBadRequest, fmt.Errorf("transfer: path %q: %s is not a directory", rel, dir)
		}
	}
	lst, err := root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, http.StatusNotFound, fmt.Errorf("transfer: path %q not found", rel)
	}
	if err != nil {
		return nil, 0, http.StatusBadRequest, fmt.Errorf("transfer: path %q: %w", rel, err)
	}
	if !lst.Mode().IsRegular() {
		return nil, 0, http.StatusBadRequest, fmt.Errorf("transfer: path %q is not a regular file", rel)
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, 0, http.StatusBadRequest, fmt.Errorf("transfer: path %q: %w", rel, err)
	}
	st, err := f.Stat()
	if err != nil || !os.SameFile(st, lst) {
		f.Close()
		return nil, 0, http.StatusConflict, fmt.Errorf("transfer: path %q changed while it was opened", rel)
	}
	return f, st.Size(), 0, nil
}
