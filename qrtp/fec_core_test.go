package qrtp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/fec"
)

// fecPair is an established pair whose client sends one message stream
// with FEC forced to fixed parameters, and whose test decides the fate of
// each client datagram by its packet number.
type fecPair struct {
	*pair
	t       *testing.T
	s       *Stream
	held    [][]byte // client datagrams delayed to a later step
	dropped []uint64
	got     [][]byte // messages the server read
	sent    []uint64 // packet numbers of client datagrams, in order
}

func newFECPair(t *testing.T, k, m int) *fecPair {
	p := &fecPair{pair: newPair(t, 5), t: t}
	c := p.cc
	var err error
	if p.s, err = c.OpenStream(StreamOptions{Mode: ModeMessage, FECBudget: 1}); err != nil {
		t.Fatal(err)
	}
	// Freeze the policy: no loss has been measured, so it would turn FEC off.
	c.fecTx.nextChoose = p.now.Add(time.Hour)
	c.fecTx.setParams(p.now, c, fec.Params{K: k, M: m})
	return p
}

// step advances time by d, lets both sides send, and delivers the client's
// datagrams that fate allows now ("deliver"), later ("hold") or never
// ("drop"); held datagrams from earlier steps go first.
func (p *fecPair) step(d time.Duration, fate func(pn uint64, sp *sentPacket) string) {
	p.now = p.now.Add(d)
	var toSrv, toCli [][]byte
	next := p.cc.rec.ring.next()
	p.cli.Poll(p.now, func(_ netip.AddrPort, b []byte) { toSrv = append(toSrv, append([]byte(nil), b...)) })
	p.srv.Poll(p.now, func(_ netip.AddrPort, b []byte) { toCli = append(toCli, append([]byte(nil), b...)) })
	deliver := p.held
	p.held = nil
	for i, b := range toSrv {
		pn := next + uint64(i)
		p.sent = append(p.sent, pn)
		switch fate(pn, p.cc.rec.ring.get(pn)) {
		case "hold":
			p.held = append(p.held, b)
		case "drop":
			p.dropped = append(p.dropped, pn)
		default:
			deliver = append(deliver, b)
		}
	}
	for _, b := range deliver {
		p.srv.HandleDatagram(p.now, fuzzCli, b)
	}
	for _, b := range toCli {
		p.cli.HandleDatagram(p.now, fuzzSrv, b)
	}
	if rs := p.sc.AcceptStream(); rs != nil || len(p.sc.streams) > 0 {
		for _, st := range p.sc.streams {
			for m, ok := st.ReadMessage(); ok; m, ok = st.ReadMessage() {
				p.got = append(p.got, m.Data)
			}
		}
	}
}

func deliverAll(uint64, *sentPacket) string { return "deliver" }

// sources returns the FEC roles of the client's packets so far, in order.
func (p *fecPair) roles() (sources, repairs []uint64) {
	for _, pn := range p.sent {
		sp := p.cc.rec.ring.get(pn)
		if sp == nil {
			continue
		}
		if sp.fec&fecSource != 0 {
			sources = append(sources, pn)
		}
		if sp.fec&fecRepair != 0 {
			repairs = append(repairs, pn)
		}
	}
	return sources, repairs
}

// TestFECRebuildsLostSourceWithoutRetransmission: one 6-packet message
// protected by 2 repairs loses its second source. The sender learns of
// the loss from the ACK of the other sources before the repairs arrive
// (they are held back one step), so it would retransmit; instead it holds
// the data while the group may still decode, the receiver rebuilds the
// packet from a repair and reports it in FEC_RECOVERED, and nothing is
// retransmitted. The controller still sees the packet as lost.
func TestFECRebuildsLostSourceWithoutRetransmission(t *testing.T) {
	p := newFECPair(t, 6, 2)
	msg := pattern(6 * 1200)
	if _, err := p.s.SendMessage(p.now, msg, p.now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	var second uint64
	nSrc := 0
	p.step(time.Millisecond, func(pn uint64, sp *sentPacket) string {
		switch {
		case sp.fec&fecSource != 0:
			if nSrc++; nSrc == 2 {
				second = pn
				return "drop"
			}
			return "deliver"
		case sp.fec&fecRepair != 0:
			return "hold"
		}
		return "deliver"
	})
	src, rep := p.roles()
	if len(src) != 6 || len(rep) != 2 {
		t.Fatalf("%d sources, %d repairs; want 6 and 2 (one message, one group)", len(src), len(rep))
	}
	// The ACK of sources 3..6 reaches the sender: source 2 is declared lost.
	p.step(time.Millisecond, deliverAll)
	if sp := p.cc.rec.ring.get(second); sp == nil || sp.state != pktLost {
		t.Fatalf("source %d not declared lost before the repairs arrived", second)
	}
	for range 20 {
		p.step(time.Millisecond, deliverAll)
	}
	cs, ss := p.cc.Stats(), p.sc.Stats()
	if len(p.got) != 1 || !bytes.Equal(p.got[0], msg) {
		t.Fatalf("server read %d messages", len(p.got))
	}
	if ss.FECRecovered != 1 || cs.FECPeerRecovered != 1 {
		t.Fatalf("rebuilt %d at the receiver, %d reported to the sender; want 1 and 1", ss.FECRecovered, cs.FECPeerRecovered)
	}
	if cs.BytesRetransmitted != 0 {
		t.Fatalf("retransmitted %d bytes of a packet FEC rebuilt", cs.BytesRetransmitted)
	}
	if cs.PacketsLost != 1 || cs.MessagesDelivered != 1 {
		t.Fatalf("lost %d packets, delivered %d messages; want the rebuilt packet lost and the message delivered", cs.PacketsLost, cs.MessagesDelivered)
	}
	if cs.FECPacketsSent != 2 || cs.FECBytesSent == 0 || cs.FECSourcePackets != 6 {
		t.Fatalf("FEC stats %d repairs, %d bytes, %d sources", cs.FECPacketsSent, cs.FECBytesSent, cs.FECSourcePackets)
	}
}

// TestFECFailedGroupIsRetransmitted: the same message loses two sources
// and a repair, more than two repairs can rebuild. The held data goes to
// retransmission once the group cannot decode, and the message arrives.
func TestFECFailedGroupIsRetransmitted(t *testing.T) {
	p := newFECPair(t, 6, 2)
	msg := pattern(6 * 1200)
	if _, err := p.s.SendMessage(p.now, msg, p.now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	nSrc, nRep := 0, 0
	p.step(time.Millisecond, func(pn uint64, sp *sentPacket) string {
		switch {
		case sp.fec&fecSource != 0:
			if nSrc++; nSrc == 2 || nSrc == 4 {
				return "drop"
			}
		case sp.fec&fecRepair != 0:
			if nRep++; nRep == 1 {
				return "drop"
			}
		}
		return "deliver"
	})
	for range 50 {
		p.step(5*time.Millisecond, deliverAll)
	}
	cs, ss := p.cc.Stats(), p.sc.Stats()
	if len(p.got) != 1 || !bytes.Equal(p.got[0], msg) {
		t.Fatalf("server read %d messages", len(p.got))
	}
	if ss.FECRecovered != 0 || cs.BytesRetransmitted < 2*1000 {
		t.Fatalf("rebuilt %d, retransmitted %d bytes; want 0 and the two lost sources", ss.FECRecovered, cs.BytesRetransmitted)
	}
	if cs.MessagesDelivered != 1 || cs.MessagesExpired != 0 {
		t.Fatalf("delivered %d, expired %d", cs.MessagesDelivered, cs.MessagesExpired)
	}
}

// TestFECRepairFits: repair frames of full groups fit in a packet, because
// protected packets leave room for the group's packet numbers.
func TestFECRepairFits(t *testing.T) {
	for _, k := range []int{1, 8, 32, 63} {
		p := newFECPair(t, k, 1)
		if _, err := p.s.SendMessage(p.now, pattern(k*1400), p.now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			p.step(time.Millisecond, deliverAll)
		}
		st := p.cc.Stats()
		if st.FECPacketsSent == 0 || p.cc.fecTx.stats.dropped != 0 {
			t.Fatalf("k=%d: %d repairs sent, %d dropped", k, st.FECPacketsSent, p.cc.fecTx.stats.dropped)
		}
	}
}

// TestFECReportBounds: the unconfirmed FEC_RECOVERED set and each frame
// stay bounded, newest first.
func TestFECReportBounds(t *testing.T) {
	r := newFECRecv(1400)
	for pn := uint64(0); pn < 4*fecReportRanges; pn += 2 {
		r.report.add(pn, pn+1)
		if r.report.len() > fecReportRanges {
			r.report.removeBelow(r.report.at(r.report.len() - fecReportRanges).start)
		}
	}
	b, lo, hi, ok := r.appendReport(nil, 1000)
	if !ok || hi != 4*fecReportRanges-2 || hi-lo != 2*(fecReportMax-1) || len(b) > 1000 {
		t.Fatalf("report [%d, %d] ok=%v in %d bytes", lo, hi, ok, len(b))
	}
	if _, _, _, ok := r.appendReport(nil, 2); ok {
		t.Fatal("a report written into 2 bytes")
	}
	r.onReportAcked(lo, hi)
	if r.report.contains(hi) || !r.report.contains(lo-2) {
		t.Fatal("acknowledged report not forgotten, or too much forgotten")
	}
}
