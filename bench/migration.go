package bench

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kennel-dev/kennel/internal/pki"
	"github.com/kennel-dev/kennel/internal/volume/transfer"
	"golang.org/x/sys/unix"
)

// MigrationResult is one volume copy through the agent-to-agent
// transfer, beside a raw copy of the same file on the same disk.
type MigrationResult struct {
	Bytes         int64
	Transfer, Raw time.Duration
	// Sequential is a copy that reads, then writes, one buffer at a time
	// (as cp does); Raw overlaps reads and writes, the best a plain copy
	// does on this disk, and is the baseline.
	Sequential time.Duration
	// CachesDropped: the page cache was emptied before each copy (root
	// only); otherwise the source file is read from memory in both.
	CachesDropped bool
}

// TransferMBps and RawMBps are the throughputs in MB/s (10^6 bytes).
func (r MigrationResult) TransferMBps() float64 { return float64(r.Bytes) / 1e6 / r.Transfer.Seconds() }

// RawMBps is the throughput of the raw copy in MB/s.
func (r MigrationResult) RawMBps() float64 { return float64(r.Bytes) / 1e6 / r.Raw.Seconds() }

// Ratio is the transfer's throughput over the raw copy's.
func (r MigrationResult) Ratio() float64 { return r.TransferMBps() / r.RawMBps() }

// SequentialMBps is the throughput of the sequential copy in MB/s.
func (r MigrationResult) SequentialMBps() float64 {
	return float64(r.Bytes) / 1e6 / r.Sequential.Seconds()
}

func (r MigrationResult) String() string {
	return fmt.Sprintf("%d bytes: transfer %.0f MB/s (%s), raw copy %.0f MB/s (%s, reads and writes overlapped), sequential copy %.0f MB/s (%s), ratio %.2f, caches dropped %v",
		r.Bytes, r.TransferMBps(), r.Transfer.Round(time.Millisecond), r.RawMBps(), r.Raw.Round(time.Millisecond),
		r.SequentialMBps(), r.Sequential.Round(time.Millisecond), r.Ratio(), r.CachesDropped)
}

// MeasureMigration writes a file of size random bytes under dir, then
// copies it twice, each copy ending with its data on disk: raw, with
// io.Copy through a 1 MiB buffer and an fsync; and through a
// transfer.Handler over TLS on 127.0.0.1 into transfer.Restore. With
// dropPageCache, as root, the page cache (the whole machine's) is dropped
// before each copy.
func MeasureMigration(ctx context.Context, dir string, size int64, dropPageCache bool) (MigrationResult, error) {
	res := MigrationResult{Bytes: size}
	src := filepath.Join(dir, "src")
	if err := writeRandom(filepath.Join(src, "data.bin"), size); err != nil {
		return res, err
	}
	res.CachesDropped = dropPageCache
	for _, c := range []struct {
		took *time.Duration
		copy func(from, to string) error
	}{{&res.Sequential, sequentialCopy}, {&res.Raw, pipelinedCopy}} {
		res.CachesDropped = res.CachesDropped && dropCaches()
		start := time.Now()
		if err := c.copy(filepath.Join(src, "data.bin"), filepath.Join(dir, "raw.bin")); err != nil {
			return res, err
		}
		*c.took = time.Since(start)
		// Each copy goes before the next, so the disk holds two files at most.
		if err := os.Remove(filepath.Join(dir, "raw.bin")); err != nil {
			return res, err
		}
	}
	srv, source, err := serveExport(src)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	dst := filepath.Join(dir, "dst")
	if err := os.Mkdir(dst, 0o755); err != nil {
		return res, err
	}
	res.CachesDropped = res.CachesDropped && dropCaches()
	start := time.Now()
	p, err := transfer.Restore(ctx, source, dst, filepath.Join(dir, "state.json"), nil)
	res.Transfer = time.Since(start)
	if err == nil && (!p.Done || p.Transferred != size) {
		err = fmt.Errorf("bench: the restore moved %d of %d bytes", p.Transferred, size)
	}
	return res, err
}

// writeRandom writes size pseudo-random bytes (incompressible, cheap to
// make) to path, on disk.
func writeRandom(path string, size int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var seed [32]byte
	rng := rand.NewChaCha8(seed)
	if _, err := io.CopyBuffer(f, io.LimitReader(rng, size), make([]byte, 1<<20)); err != nil {
		return err
	}
	return f.Sync()
}

// copyFile opens from, creates to, copies with c, and fsyncs to.
func copyFile(from, to string, c func(in io.Reader, out io.Writer) error) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	defer out.Close()
	// The wrappers hide ReadFrom and WriteTo, so no copy_file_range does
	// the work in the kernel.
	if err := c(struct{ io.Reader }{in}, struct{ io.Writer }{out}); err != nil {
		return err
	}
	return errors.Join(out.Sync(), out.Close())
}

// sequentialCopy reads and writes through a 1 MiB buffer in user space,
// then fsyncs.
func sequentialCopy(from, to string) error {
	return copyFile(from, to, func(in io.Reader, out io.Writer) error {
		_, err := io.CopyBuffer(out, in, make([]byte, 1<<20))
		return err
	})
}

// dropCaches empties the page cache (after writing back what is dirty)
// and reports whether it could.
func dropCaches() bool {
	if os.Geteuid() != 0 {
		return false
	}
	unix.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200) == nil
}

// serveExport serves dir with a transfer.Handler over TLS on 127.0.0.1,
// with a self-signed certificate, as an agent does.
func serveExport(dir string) (*http.Server, transfer.Source, error) {
	certPEM, keyPEM, err := pki.SelfSigned("bench-agent", []string{"127.0.0.1"}, time.Now().Add(time.Hour), x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, transfer.Source{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, transfer.Source{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, transfer.Source{}, err
	}
	const token = "bench-token"
	srv := &http.Server{Handler: &transfer.Handler{Root: dir, TokenSHA256: transfer.TokenSHA256(token)},
		ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	sum := sha256.Sum256(cert.Certificate[0])
	return srv, transfer.Source{ID: "bench", URL: "https://" + ln.Addr().String() + "/volumes/bench/data",
		CertSHA256: hex.EncodeToString(sum[:]), Token: token}, nil
}

// pipelinedCopy is the baseline: one goroutine reads 1 MiB buffers while
// another writes them (up to 8 in flight), then fsync — reads and writes
// overlap, as they do between two agents.
func pipelinedCopy(from, to string) error {
	return copyFile(from, to, func(in io.Reader, out io.Writer) error {
		full, free := make(chan []byte, 8), make(chan []byte, 8)
		for range 8 {
			free <- make([]byte, 1<<20)
		}
		readErr := make(chan error, 1)
		go func() {
			defer close(full)
			for buf := range free {
				n, err := io.ReadFull(in, buf)
				if n > 0 {
					full <- buf[:n]
				}
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					readErr <- nil
					return
				}
				if err != nil {
					readErr <- err
					return
				}
			}
		}()
		var werr error
		for buf := range full {
			if werr == nil {
				_, werr = out.Write(buf)
			}
			free <- buf[:cap(buf)]
		}
		close(free)
		return errors.Join(<-readErr, werr)
	})
}
