package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestCacheMissing(t *testing.T) {
	c := newPacketCache(64)
	if a, s := c.missing(); a != 0 || s != 0 {
		t.Fatalf("empty: %d of %d", a, s)
	}
	for ext := uint64(1000); ext < 1100; ext++ {
		if ext%10 == 0 {
			continue // every tenth lost
		}
		c.put(ext, []byte{1})
	}
	// The newest 64 (1036..1099) miss 1040, 1050, ..., 1090.
	if a, s := c.missing(); a != 6 || s != 64 {
		t.Fatalf("got %d of %d missing, want 6 of 64", a, s)
	}
	// A layer that began recently has not filled the cache: the span
	// starts at its first packet.
	c = newPacketCache(512)
	for ext := uint64(70_000); ext < 70_100; ext++ {
		if ext != 70_050 {
			c.put(ext, []byte{1})
		}
	}
	if a, s := c.missing(); a != 1 || s != 100 {
		t.Fatalf("young layer: %d of %d missing, want 1 of 100", a, s)
	}
}

func TestDecisionReason(t *testing.T) {
	bitrates := []int{150_000, 1_500_000}
	cases := []struct {
		name string
		l    int
		t    allocTrack
		want string
	}{
		{"down for bandwidth", 0, allocTrack{maxLayer: 1, bitrates: bitrates, current: 1}, "bandwidth"},
		{"the large layer is not arriving", 0, allocTrack{maxLayer: 1, bitrates: []int{150_000, 0}, current: 1}, "unavailable"},
		{"view asks for less", 0, allocTrack{maxLayer: 0, bitrates: bitrates, current: 1}, "preference"},
		{"view asks for more", 1, allocTrack{maxLayer: 1, bitrates: bitrates, current: 0}, "preference"},
		{"paused for bandwidth", -1, allocTrack{maxLayer: 1, bitrates: bitrates, current: 0}, "bandwidth"},
	}
	for _, c := range cases {
		if got := decisionReason(c.l, c.t); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	// Up to a layer dynacast paused: dynacast's; down, or to a running
	// layer, the selector's own reason.
	up := allocTrack{maxLayer: 1, bitrates: bitrates, current: 0}
	if got := switchReason(1, up, true); got != "dynacast" {
		t.Errorf("up to a paused layer: %q", got)
	}
	if got := switchReason(1, up, false); got != "preference" {
		t.Errorf("up to a running layer: %q", got)
	}
	down := allocTrack{maxLayer: 1, bitrates: bitrates, current: 1}
	if got := switchReason(0, down, true); got != "bandwidth" {
		t.Errorf("down to a paused layer: %q", got)
	}
}

func TestAckLag(t *testing.T) {
	d := &DownTrack{ssrc: 5, fwd: &forwarder{haveOut: true}, hist: make([]histEntry, histSize)}
	t0 := time.Unix(1000, 0)
	send := func(from, to int, at, every time.Duration) { // seq from..to (may wrap)
		for s := from; s <= to; s++ {
			seq := uint16(s)
			d.hist[seq%histSize] = histEntry{valid: true, seq: seq, firstAt: t0.Add(at).UnixNano()}
			d.fwd.lastOutExt = uint64(seq)
			at += every
		}
	}
	rr := func(at time.Duration, acked int, lost uint8) {
		d.onReceiverReport(&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{
			{SSRC: 9, LastSequenceNumber: 1}, // another track's block
			{SSRC: 5, LastSequenceNumber: uint32(acked), FractionLost: lost}}}, t0.Add(at))
	}
	sample := func() (int, uint32) { return int(d.q.ackLag.Swap(0)), d.q.lost.Swap(0) }
	ms := time.Millisecond
	send(65500, 65530, 0, 20*ms)
	rr(620*ms, 65529, 0) // 65530, sent at 600 ms, is on its way
	if lag, _ := sample(); lag != 20 {
		t.Fatalf("clean: lag %d ms, want 20", lag)
	}
	// The downlink is cut: the reports keep acknowledging 65530 while the
	// node sends on, across the sequence number's wrap.
	send(65531, 65536+44, 620*ms, 20*ms)
	rr(1620*ms, 65530, 64)
	rr(1630*ms, 65530, 0)
	if lag, lost := sample(); lag != 1010 || lost != 65 {
		t.Fatalf("cut: lag %d ms, worst lost %v; want 1010 ms and 65 (64/256, plus one)", lag, lost)
	}
	// Loss upstream of the node leaves holes (45..49 never sent): the
	// oldest packet sent after the acknowledged one is what counts.
	send(50, 60, 1700*ms, 20*ms)
	rr(1705*ms, 44, 0)
	// A burst the node forwards just before the report arrives (a trunk
	// back from an outage): on its way for a millisecond, not a lag.
	send(61, 160, 3000*ms, 0)
	rr(3001*ms, 60, 0)
	if lag, _ := sample(); lag != 5 {
		t.Fatalf("holes and a burst: lag %d ms, want 5", lag)
	}
	// Further behind than the node remembers: the oldest it does.
	send(161, 161+2*histSize, 4000*ms, ms)
	rr(7000*ms, 160, 0)
	if lag, _ := sample(); lag != 3000-histSize-1 {
		t.Fatalf("far behind: lag %d ms, want %d", lag, 3000-histSize-1)
	}
	// Audio remembers nothing it sent: no lag.
	a := &DownTrack{ssrc: 5, fwd: &forwarder{haveOut: true, lastOutExt: 900}}
	a.onReceiverReport(&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{SSRC: 5, LastSequenceNumber: 100}}}, t0)
	if lag := a.q.ackLag.Load(); lag != 0 {
		t.Fatalf("audio: lag %d", lag)
	}
}
