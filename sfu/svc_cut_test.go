package sfu

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// trunkHop stands for a trunk between two nodes: the origin's sink of a
// spatial layer, a TemporalCut at what the far node asks for, and the far
// node's mirror of the track. It counts the packets that cross by
// temporal layer.
type trunkHop struct {
	t      *testing.T
	cut    *TemporalCut
	far    *Receiver
	layer  int
	now    time.Time
	tids   [8]int
	pkt    rtp.Packet
	copied []byte
}

func (h *trunkHop) WriteRTP(_ int, raw []byte) {
	out := h.cut.Filter(raw)
	if out == nil {
		return
	}
	h.copied = append(h.copied[:0], out...)
	if err := h.pkt.Unmarshal(h.copied); err == nil {
		if d, err := parseVP9(h.pkt.Payload); err == nil && d.start && d.sid == 0 {
			h.tids[d.tid]++
		}
	}
	if err := h.far.WriteRTP(h.layer, h.copied, h.now); err != nil {
		h.t.Fatal(err)
	}
}

func (h *trunkHop) TrackEnded() {}

// tlUpstream is a trunk as the far mirror's Upstream: it records the
// temporal layers asked for.
type tlUpstream struct {
	countingUpstream
	tl []int
}

func (u *tlUpstream) SetTemporalWanted(tl []int) { u.tl = slices.Clone(tl) }

// TestTemporalAcrossTrunkVP9: a far subscriber of a VP9 SVC track's
// medium layer that the selector puts at temporal layer 0 (a 7.5 fps cap)
// makes its node ask the origin for temporal layer 0 of that layer, once
// it has stepped down itself; then only TL0 pictures cross the trunk. Its
// cap taken off, the node asks for every layer again; the origin resumes
// them at the next switching-up point, and the far subscriber gets every
// picture from there on, in consecutive sequence numbers throughout.
func TestTemporalAcrossTrunkVP9(t *testing.T) {
	now := time.Now()
	origin := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}}, 64, now)
	far, up := farVP9Mirror(now)
	hop := &trunkHop{t: t, cut: NewTemporalCut(webrtc.MimeTypeVP9, 0, 1), far: far, layer: 1, now: now}
	if _, err := origin.AddSink(1, hop); err != nil {
		t.Fatal(err)
	}
	d, fb := bindVP9Down(t, far)
	f := &vp9Feed{t: t, r: origin, top: 1, seq: 100, now: now}
	pic := uint16(1)
	// send sends n pictures of the L2T3 pattern, and lets the far node
	// tell the origin what it wants after each.
	send := func(n int) {
		for range n {
			f.picture(pic, l1t3(int(pic-1)), true, pic == 1)
			pic++
			far.tickTemporal()
			if up.tl != nil {
				hop.cut.SetMax(up.tl[1])
			}
		}
	}
	d.setDecisionT(1, 2, false, "preference", now)
	send(8)
	if hop.tids != [8]int{2, 2, 4} || up.tl != nil && up.tl[1] != AllTemporal {
		t.Fatalf("full rate: TIDs crossing %v, asked %v; want every picture", hop.tids, up.tl)
	}
	// The selector caps the far subscriber at step 0: it steps down one
	// layer at a time; the trunk follows what it forwards.
	d.setDecisionT(1, 0, true, "preference", now)
	send(4)
	if up.tl == nil || up.tl[1] != 1 {
		t.Fatalf("the far node asks for %v while its subscriber forwards temporal layers 0-1, want 1 for layer 1", up.tl)
	}
	send(2*temporalSettle + 4)
	if up.tl[1] != 0 || up.tl[0] != AllTemporal {
		t.Fatalf("the far node asks for %v, want temporal layer 0 of layer 1 (and every one of layers nobody watches)", up.tl)
	}
	hop.tids = [8]int{}
	send(40)
	if hop.tids != [8]int{10} {
		t.Fatalf("capped: the pictures crossing have TIDs %v, want TL0 only (10 of 40)", hop.tids)
	}
	far.mu.Lock()
	uncarried := far.tm.uncarried[1]
	far.mu.Unlock()
	if uncarried != svcTemporal-1 {
		t.Errorf("the far meter takes %d steps of layer 1 as not carried, want %d", uncarried, svcTemporal-1)
	}
	sent := fb.take()
	checkRun(t, "down", sent, nil)

	// Up: the far node asks for everything at once; the trunk resumes at
	// the next TL0 picture with U, not at a TL0 without it.
	d.setDecisionT(1, 2, false, "preference", now)
	far.tickTemporal()
	if up.tl[1] != AllTemporal {
		t.Fatalf("uncapped: the far node asks %v", up.tl)
	}
	hop.cut.SetMax(up.tl[1])
	hop.tids = [8]int{}
	base := pic
	f.picture(pic, 2, true, false) // pictures 0 mod 4 are TL0
	f.picture(pic+1, 1, true, false)
	f.picture(pic+2, 2, true, false)
	f.picture(pic+3, 0, false, false) // TL0 without U: no switch
	f.picture(pic+4, 2, true, false)
	f.picture(pic+5, 1, true, false)
	f.picture(pic+6, 2, true, false)
	if hop.tids != [8]int{1} {
		t.Fatalf("before a switching-up point, TIDs %v crossed, want one TL0 picture", hop.tids)
	}
	pic += 7
	for n := range 8 {
		f.picture(pic, l1t3(n), true, false) // from a TL0 picture with U
		pic++
	}
	if hop.tids != [8]int{3, 2, 4} {
		t.Fatalf("after the switching-up point, TIDs %v crossed, want every picture (3 TL0, 2 TL1, 4 TL2)", hop.tids)
	}
	sent = append(sent, fb.take()...)
	checkRun(t, "down and up", sent, nil)
	ids := pictureIDs(t, sent)
	var last []uint16
	for _, id := range ids {
		if id >= base {
			last = append(last, id)
		}
	}
	want := []uint16{base + 3}
	for p := base + 7; p < pic; p++ {
		want = append(want, p)
	}
	if !slices.Equal(last, want) {
		t.Errorf("the far subscriber got pictures %v after its cap went, want %v (every one from the switching-up point)", last, want)
	}
}

// TestTemporalCutAV1: an AV1 stream of one spatial layer (the origin's
// sink of S0) cut to temporal layer 0 loses its S0T1 frames from the next
// switch point of S0T0 on, and gets them back at the next switch point of
// S0T1, not at an S0T1 frame, in consecutive sequence numbers.
func TestTemporalCutAV1(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now())
	cut := NewTemporalCut(webrtc.MimeTypeAV1, 3, 0)
	if NewTemporalCut(webrtc.MimeTypeAV1, 0, 0) != nil || NewTemporalCut(webrtc.MimeTypeVP8, 0, 0) != nil {
		t.Fatal("a cut for a stream without temporal layers")
	}
	out := &packetSink{}
	if _, err := r.AddSink(0, sinkFunc(func(raw []byte) {
		if b := cut.Filter(raw); b != nil {
			out.WriteRTP(0, b)
		}
	})); err != nil {
		t.Fatal(err)
	}
	a := &av1SVC{t: t, r: r, seq: 100, now: time.Now()}
	a.unit(true, 0, 3)  // frame 0: S0 key
	a.unit(false, 2, 5) // 2: S0T1
	if len(out.got) != 4 {
		t.Fatalf("every layer: %d packets, want 4", len(out.got))
	}
	cut.SetMax(0)
	a.unit(false, 2, 5) // 4: S0T1, no switch point of S0T0 yet: passes
	a.unit(false, 1, 4) // 6: S0T0, the switch
	a.unit(false, 2, 5) // 8: dropped
	a.unit(false, 1, 4) // 10
	if len(out.got) != 10 || cut.Dropped != 2 {
		t.Fatalf("cut to TL0: %d packets (%d dropped), want 10 (2 dropped)", len(out.got), cut.Dropped)
	}
	cut.SetMax(AllTemporal)
	a.unit(false, 2, 5) // 12: S0T1, no switch point: dropped
	a.unit(false, 1, 4) // 14: S0T0, a switch point of S0T1
	a.unit(false, 2, 5) // 16
	if len(out.got) != 14 || cut.Dropped != 4 {
		t.Fatalf("back up: %d packets (%d dropped), want 14 (4 dropped)", len(out.got), cut.Dropped)
	}
	checkRun(t, "cut", out.got, nil)
}

// sinkFunc is a Sink of a function.
type sinkFunc func(raw []byte)

func (f sinkFunc) WriteRTP(_ int, raw []byte) { f(raw) }
func (f sinkFunc) TrackEnded()                {}

// TestTemporalCutIdle: a cut that never dropped passes VP9 packets as
// they are, without parsing them; bad input passes and panics nothing.
func TestTemporalCutIdle(t *testing.T) {
	cut := NewTemporalCut(webrtc.MimeTypeVP9, 0, 0)
	raw := marshal(t, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7}, Payload: vp9TPacket(0, 2, true, true, true, false, 1)})
	if b := cut.Filter(raw); &b[0] != &raw[0] {
		t.Error("an idle cut copied the packet")
	}
	cut.SetMax(0)
	for _, bad := range [][]byte{nil, {0x80}, make([]byte, 12), {0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe}} {
		if b := cut.Filter(bad); len(b) != len(bad) {
			t.Errorf("%x: an unparsable packet was dropped", bad)
		}
	}
	if b := cut.Filter(raw); b != nil {
		t.Error("a TL2 picture passed a cut at TL0")
	}
}

// TestTemporalMeterKeepsUncarried: the steps of a row its upstream does
// not carry keep their frame rate and cost: a capped far subscriber does
// not take the cut stream for the whole one.
func TestTemporalMeterKeepsUncarried(t *testing.T) {
	var m temporalMeter
	at := time.Now()
	feed := func(tids ...uint8) {
		for _, tid := range tids {
			m.addVP9(1, &svcFrame{ok: true, tuStart: true, tid: tid}, 1000)
		}
		at = at.Add(time.Second)
		m.measure(at)
	}
	m.measure(at)
	for range 3 {
		feed(slices.Repeat([]uint8{0, 2, 1, 2}, 5)...) // 20 fps
	}
	full := m.fps
	m.uncarried[1] = 2
	for range 3 {
		feed(slices.Repeat([]uint8{0}, 5)...) // TL0 only: 5 fps
	}
	if m.fps[0] != full[0] || m.fps[1] != full[1] || m.fps[2] != full[2] {
		t.Errorf("cut to TL0: frame rates %v, want %v kept", m.fps, full)
	}
	if m.rate[1][2] == m.rate[1][0] {
		t.Errorf("cut to TL0: the top step's cost %v is taken for TL0's", m.rate[1][2])
	}
}

// FuzzTemporalCut: no packet panics a VP9 or AV1 cut, at any temporal
// layer; what passes is the packet, at most renumbered.
func FuzzTemporalCut(f *testing.F) {
	vp9 := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7}, Payload: vp9TPacket(0, 1, true, true, true, true, 1)}
	av1 := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 9}, Payload: []byte{0x18, 0xaa}}
	if err := av1.SetExtension(3, buildDD(true, true, 0, 0, true, -1)); err != nil {
		f.Fatal(err)
	}
	for _, p := range []*rtp.Packet{vp9, av1} {
		b, err := p.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(7))
	}
	f.Fuzz(func(t *testing.T, raw []byte, tl uint8) {
		for _, cut := range []*TemporalCut{NewTemporalCut(webrtc.MimeTypeVP9, 0, 1), NewTemporalCut(webrtc.MimeTypeAV1, 3, 1)} {
			for _, m := range []int{AllTemporal, int(tl % 8), AllTemporal} {
				cut.SetMax(m)
				in := slices.Clone(raw)
				out := cut.Filter(in)
				if !slices.Equal(in, raw) {
					t.Fatal("the cut changed its input")
				}
				if out != nil && (len(out) != len(raw) || len(raw) >= 4 && !slices.Equal(out[4:], raw[4:])) {
					t.Fatalf("the cut changed more than the sequence number: %x → %x", raw, out)
				}
			}
		}
	})
}

// TestTemporalWantedMax: a far node asks, per layer, for the highest
// temporal layer of any subscriber watching it; one paused for want of
// bandwidth (starved, keeping the smallest layer running) asks for TL0.
func TestTemporalWantedMax(t *testing.T) {
	now := time.Now()
	far, up := farVP9Mirror(now)
	a, _ := bindVP9Down(t, far)
	b, _ := bindVP9Down(t, far)
	c, _ := bindVP9Down(t, far)
	a.setDecisionT(2, 0, true, "preference", now)
	b.setDecisionT(2, 1, true, "preference", now)
	c.setDecisionT(-1, 2, true, "bandwidth", now)
	for _, d := range []*DownTrack{a, b} {
		d.mu.Lock()
		d.svc.temporal.current = d.svc.temporal.target // as if stepped down already
		d.mu.Unlock()
	}
	far.tickTemporal()
	if !slices.Equal(up.tl, []int{0, AllTemporal, 1}) {
		t.Fatalf("asked %v, want [0 7 1]: TL0 of small (the starved one), every layer of medium (nobody), TL1 of large", up.tl)
	}
	a.setDecisionT(2, 2, false, "preference", now)
	far.tickTemporal()
	if !slices.Equal(up.tl, []int{0, AllTemporal, AllTemporal}) {
		t.Fatalf("one subscriber uncapped: asked %v, want [0 7 7]", up.tl)
	}
}

// farVP9Mirror is a far node's receiver of a relayed VP9 SVC track, with
// the upstream that records the temporal layers it asks for.
func farVP9Mirror(now time.Time) (*Receiver, *tlUpstream) {
	remote := testOwner()
	remote.remote = true
	far := newReceiver(remote, TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Layers: svcRIDs,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}}, 64, now)
	up := &tlUpstream{}
	far.up = up
	return far, up
}
