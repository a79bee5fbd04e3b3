package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// NullDNS is a DNS responder that does no work: it answers every query
// with an empty authoritative NOERROR (its question echoed back), on one
// OS thread reading a blocking socket, outside Go's scheduler and network
// poller — about what a C loop of recvfrom and sendto costs. Measured
// beside a real server, it is the floor the machine and the load
// generator set: no server can answer faster than this one here.
type NullDNS struct {
	fd      int
	addr    *net.UDPAddr
	stopped atomic.Bool
	done    chan struct{}
}

// StartNullDNS serves on a port of 127.0.0.1 the OS chooses.
func StartNullDNS() (*NullDNS, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("bench: null dns: socket: %w", err)
	}
	// Reads wake every 100 ms to see whether Stop was called.
	tv := unix.Timeval{Usec: 100_000}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bench: null dns: SO_RCVTIMEO: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bench: null dns: bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bench: null dns: getsockname: %w", err)
	}
	n := &NullDNS{fd: fd, done: make(chan struct{}),
		addr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*unix.SockaddrInet4).Port}}
	go n.serve()
	return n, nil
}

// Addr is the address it answers on.
func (n *NullDNS) Addr() *net.UDPAddr { return n.addr }

// Stop stops answering and closes the socket.
func (n *NullDNS) Stop() {
	if n.stopped.Swap(true) {
		return
	}
	<-n.done
	unix.Close(n.fd)
}

func (n *NullDNS) serve() {
	// The thread stays locked: it ends with the goroutine.
	runtime.LockOSThread()
	defer close(n.done)
	buf := make([]byte, 512)
	for !n.stopped.Load() {
		size, from, err := unix.Recvfrom(n.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		if end := nullReply(buf[:size]); end > 0 {
			_ = unix.Sendto(n.fd, buf[:end], 0, from)
		}
	}
}

// nullReply turns the query in msg into its empty answer in place and
// returns the answer's length: the header and the question, with the
// response and authoritative bits set and no records. It returns 0 for a
// message that is not a query of one question.
func nullReply(msg []byte) int {
	const header = 12
	if len(msg) < header || msg[2]&0x80 != 0 || binary.BigEndian.Uint16(msg[4:]) != 1 {
		return 0
	}
	off := header
	for off < len(msg) && msg[off] != 0 {
		if msg[off]&0xC0 != 0 { // a compression pointer has no place in a question
			return 0
		}
		off += 1 + int(msg[off])
	}
	off += 1 + 4 // the root label, then type and class
	if off > len(msg) {
		return 0
	}
	msg[2] = 0x80 | msg[2]&0x79 | 0x04 // QR, opcode and RD kept, AA
	msg[3] = 0                         // NOERROR, no RA
	clear(msg[6:header])               // no answer, authority or additional records
	return off
}
