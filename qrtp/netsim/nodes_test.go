package netsim

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Test doubles that act as protocol endpoints.

var (
	addrA = netip.MustParseAddrPort("10.0.0.1:1000")
	addrB = netip.MustParseAddrPort("10.0.0.2:2000")
	addrC = netip.MustParseAddrPort("10.0.0.3:3000")
)

// blaster sends size-byte datagrams to dst, paced at rate bits/s, each
// carrying its sequence number, until limit packets (0 = forever).
type blaster struct {
	dst   netip.AddrPort
	rate  float64
	size  int
	limit uint64
	sent  uint64
	next  time.Time
	buf   []byte
}

func newBlaster(dst netip.AddrPort, rate float64, size int) *blaster {
	return &blaster{dst: dst, rate: rate, size: size, buf: make([]byte, size)}
}

func (b *blaster) HandleDatagram(time.Time, netip.AddrPort, []byte) {}

func (b *blaster) interval() time.Duration {
	return time.Duration(float64(b.size) * 8 * float64(time.Second) / b.rate)
}

func (b *blaster) Poll(now time.Time, send func(netip.AddrPort, []byte)) {
	if b.next.IsZero() {
		b.next = now
	}
	for !b.next.After(now) && (b.limit == 0 || b.sent < b.limit) {
		binary.BigEndian.PutUint64(b.buf, b.sent)
		send(b.dst, b.buf)
		b.sent++
		b.next = b.next.Add(b.interval())
	}
}

func (b *blaster) NextTimeout() time.Time {
	if b.limit != 0 && b.sent >= b.limit {
		return time.Time{}
	}
	return b.next
}

// arrival is one datagram a sink received.
type arrival struct {
	at   time.Time
	from netip.AddrPort
	seq  uint64
	size int
}

// sink records what arrives; with echo set it sends each datagram back to
// its sender.
type sink struct {
	got     []arrival
	bytes   int
	echo    bool
	pending []pendingEcho
}

type pendingEcho struct {
	to netip.AddrPort
	b  []byte
}

func (s *sink) HandleDatagram(now time.Time, from netip.AddrPort, b []byte) {
	var seq uint64
	if len(b) >= 8 {
		seq = binary.BigEndian.Uint64(b)
	}
	s.got = append(s.got, arrival{at: now, from: from, seq: seq, size: len(b)})
	s.bytes += len(b)
	if s.echo {
		// b is only valid during the call: copy it.
		s.pending = append(s.pending, pendingEcho{from, append([]byte(nil), b...)})
	}
}

func (s *sink) Poll(_ time.Time, send func(netip.AddrPort, []byte)) {
	for _, p := range s.pending {
		send(p.to, p.b)
	}
	s.pending = s.pending[:0]
}

func (s *sink) NextTimeout() time.Time { return time.Time{} }

// pinger sends one datagram to dst on each Poll it is woken for, and
// records echoes.
type pinger struct {
	dst     netip.AddrPort
	toSend  int
	seq     uint64
	replies []arrival
}

func (p *pinger) HandleDatagram(now time.Time, from netip.AddrPort, b []byte) {
	p.replies = append(p.replies, arrival{at: now, from: from, seq: binary.BigEndian.Uint64(b), size: len(b)})
}

func (p *pinger) Poll(_ time.Time, send func(netip.AddrPort, []byte)) {
	var b [8]byte
	for ; p.toSend > 0; p.toSend-- {
		binary.BigEndian.PutUint64(b[:], p.seq)
		p.seq++
		send(p.dst, b[:])
	}
}

func (p *pinger) NextTimeout() time.Time { return time.Time{} }
