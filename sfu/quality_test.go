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
}

func TestAckLag(t *testing.T) {
	d := &DownTrack{ssrc: 5, fwd: &forwarder{haveOut: true}}
	t0 := time.Unix(1000, 0)
	rr := func(at time.Duration, out, acked int, lost uint8) {
		d.fwd.lastOutExt = uint64(out)
		d.onReceiverReport(&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{
			{SSRC: 9, LastSequenceNumber: 1}, // another track's block
			{SSRC: 5, LastSequenceNumber: uint32(acked), FractionLost: lost}}}, t0.Add(at))
	}
	sample := func() (int, uint32) { return int(d.q.ackLag.Swap(0)), d.q.lost.Swap(0) }
	rr(0, 65480, 65479, 0)
	rr(time.Second, 65530, 65529, 0) // 50 packets a second: 1 packet behind is 20 ms
	if lag, _ := sample(); lag != 20 {
		t.Fatalf("clean: lag %d ms, want 20", lag)
	}
	// The downlink is cut: the reports keep acknowledging 65529 while the
	// node sends on, across the sequence number's wrap.
	rr(2*time.Second, 65580, 65529, 64)
	rr(3*time.Second, 65630, 65529, 0)
	if lag, lost := sample(); lag != 2020 || lost != 65 {
		t.Fatalf("cut: lag %d ms, worst lost %v; want 2020 ms and 65 (64/256, plus one)", lag, lost)
	}
	// Packets lost upstream of the node leave holes the subscriber skips:
	// it acknowledges the newest, no lag. Nor while nothing is sent.
	rr(4*time.Second, 65680, 65680, 0)
	rr(5*time.Second, 65680, 65680, 0)
	if lag, _ := sample(); lag != 0 {
		t.Fatalf("upstream holes: lag %d ms, want 0", lag)
	}
}
