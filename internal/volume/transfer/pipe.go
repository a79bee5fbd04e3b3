package transfer

import (
	"errors"
	"io"
)

// pipeDepth is how many buffers a pipe has in flight.
const pipeDepth = 4

// pipe moves data from read to consume through pipeDepth buffers of size
// bytes, reading in a goroutine of its own while consume works, so that
// the disk and the network (and the hashing and the cipher, on another
// CPU) overlap. read fills a buffer as fill does: io.EOF ends the data
// (after its bytes are consumed); any other error ends the pipe with it.
// consume's error ends it too: the reader is told to stop and left to
// end on its own (a read blocked on the network ends when the caller
// closes what it reads; every buffer fits in full, so it never blocks on
// a send).
func pipe(size int, read func([]byte) (int, error), consume func([]byte) error) error {
	type chunk struct {
		buf []byte
		err error
	}
	full, free := make(chan chunk, pipeDepth), make(chan []byte, pipeDepth)
	for range pipeDepth {
		free <- make([]byte, size)
	}
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n, err := read(buf)
			full <- chunk{buf[:n], err}
			if err != nil {
				return
			}
		}
	}()
	var out error
	for c := range full {
		if out == nil && len(c.buf) > 0 {
			out = consume(c.buf)
		}
		if out == nil && c.err != nil && !errors.Is(c.err, io.EOF) {
			out = c.err
		}
		if out != nil {
			close(stop)
			return out
		}
		free <- c.buf[:cap(c.buf)]
	}
	return nil
}
