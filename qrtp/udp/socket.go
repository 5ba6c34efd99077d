package udp

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
)

const (
	// socketBuffer is what we ask the kernel for each direction: a burst
	// at a gigabit must not overflow the socket before the reader runs.
	// Linux caps it at net.core.rmem_max / wmem_max.
	socketBuffer = 8 << 20
	// maxSegments bounds one GSO send (the kernel's UDP_MAX_SEGMENTS is 64)
	// and maxGSOBytes its total payload (a UDP datagram's 16-bit length).
	maxSegments = 64
	maxGSOBytes = 65000
	// readBuffer holds one read: with GRO, a train of up to 64 KiB.
	readBuffer = 1 << 16
)

// socket is one UDP socket with the offloads the kernel offers. Reads
// happen on the reader goroutine, writes on the event loop, so neither
// side needs a lock; the offload flags are atomics because Stats reads them.
type socket struct {
	conn    *net.UDPConn
	gso     atomic.Bool
	gro     bool
	buffers SocketBuffers // what the kernel granted; set once

	readErrors, writeErrors, gsoSends atomic.Uint64
}

func newSocket(c *net.UDPConn, log *slog.Logger) *socket {
	s := &socket{conn: c}
	// Best effort: a capped or refused buffer is logged and shows in
	// Stats.Buffers; the transport works with what the kernel gives.
	var err error
	if s.buffers, err = SetSocketBuffers(c, socketBuffer, socketBuffer, log); err != nil {
		log.Warn("qrtp/udp: cannot size the socket buffers", "err", err)
	}
	gso, gro := enableOffload(c)
	s.gso.Store(gso)
	s.gro = gro
	return s
}

func (s *socket) localAddr() netip.AddrPort {
	ap := s.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// read blocks for the next datagram or GRO train. seg is the size of each
// datagram in b[:n] (the last may be shorter).
func (s *socket) read(b, oob []byte) (n, seg int, from netip.AddrPort, err error) {
	n, oobn, _, from, err := s.conn.ReadMsgUDPAddrPort(b, oob)
	if err != nil {
		return 0, 0, from, err
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	seg = n
	if s.gro && oobn > 0 {
		if g := groSegment(oob[:oobn]); g > 0 {
			seg = g
		}
	}
	return n, seg, from, nil
}

// txPacket is one queued datagram: b[off:off+n] of the queue's buffer.
type txPacket struct {
	to     netip.AddrPort
	off, n int
}

// txQueue collects the datagrams one Poll produces, copied into one
// contiguous buffer so runs to the same peer go out as one GSO send.
// It is reused: after the first few Polls it no longer allocates.
type txQueue struct {
	buf  []byte
	pkts []txPacket
	oob  []byte
}

func (q *txQueue) add(to netip.AddrPort, b []byte) {
	q.pkts = append(q.pkts, txPacket{to: to, off: len(q.buf), n: len(b)})
	q.buf = append(q.buf, b...)
}

func (q *txQueue) len() int { return len(q.pkts) }

func (q *txQueue) reset() {
	q.buf = q.buf[:0]
	q.pkts = q.pkts[:0]
}

// flush writes every queued datagram and empties the queue. Runs of
// datagrams to one address, of one size (the last may be shorter), go out
// in one sendmsg with UDP_SEGMENT when GSO works. Send errors are counted:
// a datagram the kernel refuses is a lost datagram, which the transport
// repairs like any other.
func (s *socket) flush(q *txQueue) {
	if q.oob == nil {
		q.oob = make([]byte, controlSpace)
	}
	for i := 0; i < len(q.pkts); {
		j := i + 1
		if s.gso.Load() {
			j = runEnd(q.pkts, i)
		}
		s.send(q, i, j)
		i = j
	}
	q.reset()
}

// runEnd returns the end of the GSO run starting at i.
func runEnd(p []txPacket, i int) int {
	first := p[i]
	total := first.n
	j := i + 1
	for j < len(p) && j-i < maxSegments && p[j].to == first.to && p[j].n <= first.n && total+p[j].n <= maxGSOBytes {
		total += p[j].n
		j++
		if p[j-1].n < first.n {
			break // a shorter datagram ends a run
		}
	}
	return j
}

// send writes pkts[i:j] (contiguous in the buffer) in one system call when
// j-i > 1, falling back to one call per datagram if segmentation fails.
func (s *socket) send(q *txQueue, i, j int) {
	p := q.pkts[i]
	if j-i == 1 {
		s.countWrite(s.writeOne(q.buf[p.off:p.off+p.n], p.to))
		return
	}
	last := q.pkts[j-1]
	_, _, err := s.conn.WriteMsgUDPAddrPort(q.buf[p.off:last.off+last.n], gsoControl(q.oob, p.n), p.to)
	if err == nil {
		s.gsoSends.Add(1)
		return
	}
	if !isGSOError(err) {
		s.countWrite(err)
		return
	}
	s.gso.Store(false)
	for k := i; k < j; k++ {
		p := q.pkts[k]
		s.countWrite(s.writeOne(q.buf[p.off:p.off+p.n], p.to))
	}
}

func (s *socket) writeOne(b []byte, to netip.AddrPort) error {
	_, err := s.conn.WriteToUDPAddrPort(b, to)
	return err
}

func (s *socket) countWrite(err error) {
	if err != nil {
		s.writeErrors.Add(1)
	}
}

func (s *socket) close() error { return s.conn.Close() }

// isClosed reports the error a read returns once the socket is closed.
func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
