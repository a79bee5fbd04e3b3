// Package calibrate measures what a storage device can deliver — random
// 4 KiB read and write IOPS, sequential 1 MiB read and write bandwidth —
// with direct I/O on a scratch file, so an operator can advertise honest
// figures with `kennel agent --storage PATH:iops=N,bandwidth=Q`. The page
// cache is bypassed (O_DIRECT), so the figures are the device's.
package calibrate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Config says where and how long to measure.
type Config struct {
	// Dir is a directory on the device to measure; a scratch file is
	// made there and removed afterwards.
	Dir string
	// FileSize is the scratch file's size (default 256 MiB); larger than
	// any device cache gives truer random-I/O figures.
	FileSize int64
	// Duration is how long each of the four tests runs (default 5 s).
	Duration time.Duration
	// Depth is how many I/Os are in flight at once (default 8).
	Depth int
	// Progress, when set, is told which test starts.
	Progress func(test string)
}

// Result is what the device delivered.
type Result struct {
	ReadIOPS, WriteIOPS int64 // random 4 KiB
	ReadBPS, WriteBPS   int64 // sequential 1 MiB, bytes per second
}

// IOPS is the figure to advertise: the lower of read and write, since
// reservations count both against one figure.
func (r Result) IOPS() int64 { return min(r.ReadIOPS, r.WriteIOPS) }

// Bandwidth is the lower of read and write bandwidth.
func (r Result) Bandwidth() int64 { return min(r.ReadBPS, r.WriteBPS) }

// Run measures. It fails for a filesystem in memory (tmpfs) or one that
// does not support direct I/O, since the figures would not be a device's.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.FileSize <= 0 {
		cfg.FileSize = 256 << 20
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 5 * time.Second
	}
	if cfg.Depth <= 0 {
		cfg.Depth = 8
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(cfg.Dir, &fs); err != nil {
		return Result{}, fmt.Errorf("calibrate: %w", err)
	}
	if fs.Type == unix.TMPFS_MAGIC || fs.Type == unix.RAMFS_MAGIC {
		return Result{}, fmt.Errorf("calibrate: %s is in memory (tmpfs): its figures would be memory's, not a device's", cfg.Dir)
	}
	path := filepath.Join(cfg.Dir, fmt.Sprintf(".kennel-calibrate-%d", os.Getpid()))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_DIRECT, 0o600)
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			return Result{}, fmt.Errorf("calibrate: %s does not support direct I/O (tmpfs?): its figures would be the page cache's", cfg.Dir)
		}
		return Result{}, fmt.Errorf("calibrate: %w", err)
	}
	defer os.Remove(path)
	defer f.Close()
	if err := fill(ctx, f, cfg.FileSize); err != nil {
		return Result{}, err
	}
	var r Result
	tests := []struct {
		name  string
		bs    int64
		write bool
		seq   bool
		out   *int64
	}{
		{"random 4 KiB writes", 4 << 10, true, false, &r.WriteIOPS},
		{"random 4 KiB reads", 4 << 10, false, false, &r.ReadIOPS},
		{"sequential 1 MiB writes", 1 << 20, true, true, &r.WriteBPS},
		{"sequential 1 MiB reads", 1 << 20, false, true, &r.ReadBPS},
	}
	for _, t := range tests {
		if cfg.Progress != nil {
			cfg.Progress(t.name)
		}
		ops, err := measure(ctx, f, cfg, t.bs, t.write, t.seq)
		if err != nil {
			return Result{}, fmt.Errorf("calibrate: %s: %w", t.name, err)
		}
		*t.out = ops
		if t.seq {
			*t.out = ops * t.bs
		}
	}
	return r, nil
}

// alignedBuf is a buffer aligned for O_DIRECT (4 KiB).
func alignedBuf(n int64) []byte {
	b := make([]byte, n+4096)
	off := int(4096 - uintptr(unsafe.Pointer(&b[0]))%4096)
	if off == 4096 {
		off = 0
	}
	return b[off : off+int(n)]
}

// fill writes the whole scratch file so reads hit the device, not holes.
func fill(ctx context.Context, f *os.File, size int64) error {
	buf := alignedBuf(1 << 20)
	for i := range buf {
		buf[i] = byte(i)
	}
	for off := int64(0); off < size; off += int64(len(buf)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := f.WriteAt(buf, off); err != nil {
			return fmt.Errorf("calibrate: fill scratch file: %w", err)
		}
	}
	return nil
}

// measure runs Depth workers of bs-sized I/Os for the duration and
// returns operations per second.
func measure(ctx context.Context, f *os.File, cfg Config, bs int64, write, seq bool) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	blocks := cfg.FileSize / bs
	var ops atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, cfg.Depth)
	start := time.Now()
	for w := 0; w < cfg.Depth; w++ {
		wg.Go(func() {
			buf := alignedBuf(bs)
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for ctx.Err() == nil {
				blk := rng.Int64N(blocks)
				if seq {
					blk = next.Add(1) % blocks
				}
				var err error
				if write {
					_, err = f.WriteAt(buf, blk*bs)
				} else {
					_, err = f.ReadAt(buf, blk*bs)
				}
				if err != nil {
					errc <- err
					return
				}
				ops.Add(1)
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return 0, err
	default:
	}
	secs := time.Since(start).Seconds()
	return int64(float64(ops.Load()) / secs), nil
}
