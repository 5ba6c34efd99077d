package qrtp

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/qrtp/wire"
)

var (
	fuzzCli = netip.MustParseAddrPort("192.0.2.1:1000")
	fuzzSrv = netip.MustParseAddrPort("192.0.2.2:2000")
)

// pair is two endpoints with an established connection, wired directly.
type pair struct {
	now        time.Time
	cli, srv   *Endpoint
	cc, sc     *Conn
	lastClient [][]byte // what the client sent in the last exchange
}

func newPair(t testing.TB, seed uint64) *pair {
	t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(s uint64) *Endpoint {
		rnd := rand.NewChaCha8([32]byte{byte(s), byte(seed)})
		key, err := handshake.GenerateKeyPair(rnd)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewEndpoint(now, Config{Key: key, Rand: rnd, Accept: true})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	p := &pair{now: now, cli: mk(1), srv: mk(2)}
	key := p.srv.PublicKey()
	var err error
	if p.cc, err = p.cli.Connect(now, fuzzSrv, &key, ConnConfig{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		p.exchange()
	}
	p.sc = p.srv.Accept()
	if p.sc == nil || !p.cc.Established() || !p.sc.Established() {
		t.Fatal("pair did not connect")
	}
	return p
}

// exchange polls both endpoints once and delivers what they sent.
func (p *pair) exchange() {
	p.now = p.now.Add(time.Millisecond)
	var toSrv, toCli [][]byte
	p.cli.Poll(p.now, func(_ netip.AddrPort, b []byte) { toSrv = append(toSrv, append([]byte(nil), b...)) })
	p.srv.Poll(p.now, func(_ netip.AddrPort, b []byte) { toCli = append(toCli, append([]byte(nil), b...)) })
	p.lastClient = toSrv
	for _, b := range toSrv {
		p.srv.HandleDatagram(p.now, fuzzCli, b)
	}
	for _, b := range toCli {
		p.cli.HandleDatagram(p.now, fuzzSrv, b)
	}
}

// FuzzEndpointDatagram feeds arbitrary datagrams to an endpoint that has
// a live connection: nothing may panic, create a connection without a
// valid handshake, or grow without bound.
func FuzzEndpointDatagram(f *testing.F) {
	p := newPair(f, 1)
	s, _ := p.cc.OpenStream(StreamOptions{})
	s.Write([]byte("seed data"))
	p.exchange()
	for _, b := range p.lastClient {
		f.Add(b)
	}
	h := wire.LongHeader{Type: wire.PacketInit, Version: wire.Version, DCID: p.sc.initialDCID}
	f.Add(append(wire.AppendLongHeader(nil, &h), make([]byte, 200)...))
	h = wire.LongHeader{Type: wire.PacketKeyRequest, Version: wire.Version}
	f.Add(append(wire.AppendLongHeader(nil, &h), make([]byte, 1200)...))
	f.Add(wire.AppendShortHeader(nil, p.sc.localCID(), 5, 2, false))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := newPair(t, 1)
		p.srv.HandleDatagram(p.now, fuzzCli, b)
		p.srv.Poll(p.now, func(netip.AddrPort, []byte) {})
		if st := p.srv.Stats(); st.Connections > 1 || st.HandshakesOK > 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

// FuzzConnFrames feeds arbitrary decrypted payloads to an established
// connection, as a hostile but authenticated peer could: frames must be
// handled or refused with a protocol error, and memory stays within the
// configured windows and buffers.
func FuzzConnFrames(f *testing.F) {
	seeds := []*wire.Frame{
		{Type: wire.FrameStream, Stream: wire.StreamFrame{StreamID: 1 << 3, Offset: 100, Data: []byte("x"), Fin: true}},
		{Type: wire.FrameStream, Stream: wire.StreamFrame{StreamID: 8 << 3, Offset: 1 << 40, Data: []byte("far")}},
		{Type: wire.FrameMessage, Message: wire.MessageFrame{StreamID: 1<<3 | 2, Seq: 3, Total: 10, Offset: 5, Data: []byte("abcde")}},
		{Type: wire.FrameMessage, Message: wire.MessageFrame{StreamID: 2<<3 | 2, Seq: 0, Total: 4 << 20, Data: []byte("big")}},
		{Type: wire.FrameMessageExpired, MessageExpired: wire.MessageExpiredFrame{StreamID: 1<<3 | 2, FirstSeq: 0, Count: 1 << 40}},
		{Type: wire.FrameDatagram, Datagram: wire.DatagramFrame{StreamID: 1<<3 | 4, Data: []byte("d")}},
		{Type: wire.FrameAck, Ack: wire.AckFrame{Ranges: []wire.AckRange{{Smallest: 0, Largest: 3}}}},
		{Type: wire.FrameStreamReset, StreamReset: wire.StreamResetFrame{StreamID: 1 << 3, Code: 1, FinalSize: 9}},
		{Type: wire.FrameMaxStreamData, MaxStreamData: wire.MaxStreamDataFrame{StreamID: 1, Max: 1 << 50}},
		{Type: wire.FrameMaxStreams, MaxStreams: wire.MaxStreamsFrame{Max: 1 << 60}},
		{Type: wire.FramePathChallenge},
		{Type: wire.FrameNewConnectionID, NewConnectionID: wire.NewConnectionIDFrame{Seq: 5}},
		{Type: wire.FrameFECRepair, FECRepair: wire.FECRepairFrame{GroupID: 1, Index: 2, K: 2, N: 3, Packets: []uint64{1, 2}, Symbol: []byte{0, 3, 0x11, 0, 1, 9}}},
		{Type: wire.FrameFECRepair, FECRepair: wire.FECRepairFrame{GroupID: 1, Index: 3, K: 2, N: 4, Packets: []uint64{1, 2}, Symbol: []byte{0, 1}}},
		{Type: wire.FrameFECRecovered, FECRecovered: wire.FECRecoveredFrame{Packets: []uint64{1, 3, 900}}},
		{Type: wire.FrameConnectionClose, Close: wire.ConnectionCloseFrame{Code: 7}},
	}
	var all []byte
	for _, s := range seeds {
		f.Add(s.Append(nil))
		all = s.Append(all)
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, payload []byte) {
		p := newPair(t, 2)
		c := p.sc
		_, _ = c.processFrames(p.now, payload)
		p.exchange()
		if c.msgBuffered > c.cfg.ConnMessageBuffer {
			t.Fatalf("message buffers hold %d > %d", c.msgBuffered, c.cfg.ConnMessageBuffer)
		}
		if c.recvHighest > c.recvMax {
			t.Fatalf("received %d beyond the connection window %d", c.recvHighest, c.recvMax)
		}
		mem := 0
		for _, s := range c.streams {
			if s.rr != nil {
				mem += s.rr.ring.capacity()
			}
		}
		if mem > 2*int(c.recvMax)+len(c.streams)*ringBlockSize {
			t.Fatalf("stream buffers hold %d bytes for a %d window", mem, c.recvMax)
		}
	})
}
