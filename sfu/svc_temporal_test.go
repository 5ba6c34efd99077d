package sfu

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// vp9TPacket builds a VP9 payload (flexible mode, as Chromium sends SVC)
// of spatial layer sid and temporal layer tid, with the switching-up
// point bit u.
func vp9TPacket(sid, tid uint8, u, start, end, key bool, picID uint16) []byte {
	b0 := byte(0xb0) // I, L, F
	if !key {
		b0 |= 0x40 // P: one reference follows
	}
	if start {
		b0 |= 0x08
	}
	if end {
		b0 |= 0x04
	}
	x := tid<<5 | sid<<1
	if u {
		x |= 0x10
	}
	out := []byte{b0, 0x80 | byte(picID>>8), byte(picID), x}
	if !key {
		out = append(out, 1<<1) // P_DIFF 1, N=0
	}
	return append(out, 0xaa, 0xbb)
}

// l1t3 is the temporal layer of picture n in an L3T3 stream: 0 2 1 2.
func l1t3(n int) uint8 { return [4]uint8{0, 2, 1, 2}[n%4] }

// vp9Feed sends VP9 pictures to a receiver: spatial layers 0..top, two
// packets each, on stream layer.
type vp9Feed struct {
	t     *testing.T
	r     *Receiver
	layer int
	top   uint8
	seq   uint16
	now   time.Time
}

func (f *vp9Feed) picture(pic uint16, tid uint8, u, key bool) {
	for sid := uint8(0); sid <= f.top; sid++ {
		for k := range 2 {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: f.seq, Timestamp: uint32(pic) * 3000,
				SSRC: 5, Marker: sid == f.top && k == 1}, Payload: vp9TPacket(sid, tid, u, k == 0, k == 1, key && sid == 0, pic)}
			f.seq++
			if err := f.r.WriteRTP(f.layer, marshal(f.t, p), f.now); err != nil {
				f.t.Fatal(err)
			}
		}
	}
}

func bindVP9Down(t *testing.T, r *Receiver) (*DownTrack, *fakeBinding) {
	t.Helper()
	d := newDownTrack(r, nil)
	fb := &fakeBinding{ssrc: 1111, codecs: []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}, PayloadType: 98}}}
	if _, err := d.Bind(fb); err != nil {
		t.Fatal(err)
	}
	r.addDown(d)
	return d, fb
}

// pictureIDs lists the VP9 picture IDs of the packets that start a picture.
func pictureIDs(t *testing.T, sent []*rtp.Packet) []uint16 {
	t.Helper()
	var ids []uint16
	for _, p := range sent {
		d, err := parseVP9(p.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if d.start && d.sid == 0 {
			ids = append(ids, d.picID)
		}
	}
	return ids
}

// TestSVCTemporalVP9: a VP9 SVC subscriber on the large layer steps down
// to temporal layer 0 (a quarter of the pictures) one layer at a time,
// from the next picture on, with consecutive sequence numbers, the marker at the end of each picture
// and the picture IDs as sent (the gaps are the pictures dropped); it
// steps up again at the next picture of a layer it gets that is a
// switching-up point (U), not at one that is not, and never freezes
// while waiting.
func TestSVCTemporalVP9(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}}, 64, time.Now())
	d, fb := bindVP9Down(t, r)
	f := &vp9Feed{t: t, r: r, top: 2, seq: 100, now: time.Now()}
	d.setDecision(2, false, "preference", f.now)
	f.picture(1, 0, true, true)
	for n := 1; n < 4; n++ {
		f.picture(uint16(1+n), l1t3(n), true, false)
	}
	if sent := fb.take(); len(sent) != 24 {
		t.Fatalf("every temporal layer: %d packets of 4 pictures forwarded, want 24", len(sent))
	}

	d.setDecisionT(2, 0, true, "bandwidth", f.now)
	for n := 4; n < 60; n++ {
		f.picture(uint16(1+n), l1t3(n), true, false)
	}
	sent := fb.take()
	var want []uint16 // one step at a time: temporalSettle pictures of layers 0-1, then layer 0
	for n := 4; n < 60; n++ {
		if len(want) < temporalSettle && n%2 == 0 || len(want) >= temporalSettle && n%4 == 0 {
			want = append(want, uint16(1+n))
		}
	}
	if ids := pictureIDs(t, sent); !slices.Equal(ids, want) {
		t.Fatalf("down to temporal layer 0: pictures %v, want %v (the gaps are the pictures dropped)", ids, want)
	}
	marks := make([]bool, len(sent))
	for i := range marks {
		marks[i] = i%6 == 5
	}
	checkRun(t, "down", sent, marks)

	// Up: the pictures of layers 2 and 1 that come first are no switching
	// point for a subscriber on layer 0; a T0 picture without U is not
	// either; the next T0 picture with U is.
	d.setDecisionT(2, 2, false, "preference", f.now)
	f.picture(61, 2, true, false)
	f.picture(62, 1, true, false)
	f.picture(63, 2, true, false)
	f.picture(64, 0, false, false)
	if n := len(fb.take()); n != 6 {
		t.Fatalf("before a switching-up point: %d packets, want 6 (the T0 picture)", n)
	}
	f.picture(65, 2, true, false)
	f.picture(66, 1, true, false)
	f.picture(67, 2, true, false)
	f.picture(68, 0, true, false)
	f.picture(69, 2, true, false)
	sent = fb.take()
	if ids := pictureIDs(t, sent); len(ids) != 2 || ids[0] != 68 || ids[1] != 69 {
		t.Errorf("up: pictures %v forwarded, want [68 69] (from the U picture of layer 0 on)", ids)
	}
	checkRun(t, "up", sent, nil)
}

// TestSVCTemporalVP9Relayed: a VP9 track relayed from another node comes
// as one stream per spatial layer (svc_sink.go); its subscribers get
// temporal steps too, on the stream forwarded.
func TestSVCTemporalVP9Relayed(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Layers: []string{"s", "m", "l"},
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}}, 64, time.Now())
	if r.svc || r.temporalSteps() != svcTemporal {
		t.Fatalf("a relayed VP9 track: svc %v, %d temporal steps", r.svc, r.temporalSteps())
	}
	d, fb := bindVP9Down(t, r)
	f := &vp9Feed{t: t, r: r, layer: 1, top: 1, seq: 100, now: time.Now()}
	d.setDecisionT(1, 1, true, "preference", f.now)
	f.picture(1, 0, true, true)
	for n := 1; n < 8; n++ {
		f.picture(uint16(1+n), l1t3(n), true, false)
	}
	sent := fb.take()
	if ids := pictureIDs(t, sent); len(ids) != 4 || ids[0] != 1 || ids[1] != 3 || ids[2] != 5 || ids[3] != 7 {
		t.Errorf("step 1 of a relayed stream: pictures %v, want [1 3 5 7] (layers 0 and 1)", ids)
	}
	checkRun(t, "relayed", sent, nil)
}

// TestSVCTemporalAV1: an AV1 SVC subscriber on the small layer (L2T2
// test structure) steps down to S0T0 at its next switch point and back up
// to S0T1 at the next S0T0 frame (a switch point of S0T1 whose chain it
// has), not at an S0T1 frame, and without asking for a key frame.
func TestSVCTemporalAV1(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now())
	up := &countingUpstream{}
	r.up = up
	d, fb := bindAV1Down(t, r)
	a := &av1SVC{t: t, r: r, seq: 100, now: time.Now()}
	d.setDecision(0, false, "preference", a.now)
	a.unit(true, 0, 3) // frames 0 (S0 key), 1
	a.unit(false, 2, 5)
	if n := len(fb.take()); n != 4 {
		t.Fatalf("S0T1: %d packets, want 4 (the key frame's S0 frame and the S0T1 frame)", n)
	}
	kf := up.n.Load()
	d.setDecisionT(0, 0, true, "bandwidth", a.now)
	a.unit(false, 1, 4) // frame 4: S0T0, a switch point of S0T0
	a.unit(false, 2, 5) // 6: S0T1, dropped
	a.unit(false, 1, 4) // 8
	sent := fb.take()
	if len(sent) != 4 {
		t.Fatalf("S0T0: %d packets, want the 4 of frames 4 and 8", len(sent))
	}
	checkRun(t, "T0", sent, []bool{false, true, false, true})

	d.setDecisionT(0, 2, false, "preference", a.now)
	a.unit(false, 2, 5) // 10: S0T1 frame: discardable, no switch point
	if n := len(fb.take()); n != 0 {
		t.Fatalf("up at a frame that is no switch point: %d packets", n)
	}
	a.unit(false, 1, 4) // 12: S0T0, a switch point of S0T1 (its chain: frame 8)
	a.unit(false, 2, 5) // 14: S0T1
	sent = fb.take()
	if len(sent) != 4 {
		t.Fatalf("S0T1 again: %d packets, want 4", len(sent))
	}
	checkRun(t, "up", sent, []bool{false, true, false, true})
	if got := up.n.Load(); got != kf {
		t.Errorf("a temporal switch asked for %d key frames", got-kf)
	}
}

// TestTemporalLadder: the selector's costs for a VP9 SVC track step the
// frame rate down before the resolution: as the budget falls the large
// layer goes to half, then a quarter of the frame rate, and only then to
// the medium layer at full rate.
func TestTemporalLadder(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}}, 64, time.Now())
	// Measured: per spatial layer, bits/s of temporal layers up to 0, 1, 2.
	r.tm.rate = [svcLayers][svcTemporal]float64{{60e3, 80e3, 100e3}, {200e3, 270e3, 300e3}, {500e3, 700e3, 800e3}}
	ladder := r.ladderLocked([]int{100_000, 400_000, 1_200_000}, svcTemporal-1)
	want := []int{60_000, 80_000, 100_000, 260_000, 350_000, 400_000, 760_000, 1_050_000, 1_200_000}
	for i := range want {
		if d := ladder[i] - want[i]; d < -1000 || d > 1000 {
			t.Fatalf("ladder %v, want about %v", ladder, want)
		}
	}
	now := time.Now()
	for _, c := range []struct {
		budget  int
		spatial int
		step    int
	}{{1_300_000, 2, 2}, {1_100_000, 2, 1}, {800_000, 2, 0}, {500_000, 1, 2}, {370_000, 1, 1}} {
		got := selectLayers(c.budget, true, []allocTrack{{maxLayer: 8, bitrates: ladder, current: 8, main: true}}, now, defaultSelectorParams)
		if s, st := fromLadder(got[0]); s != c.spatial || st != c.step {
			t.Errorf("budget %d: spatial %d step %d, want %d %d", c.budget, s, st, c.spatial, c.step)
		}
	}
	// A cap that allows step 0 only takes the other steps off the ladder.
	capped := r.ladderLocked([]int{100_000, 400_000, 1_200_000}, 0)
	if capped[ladderIndex(1, 2)] != 0 || capped[ladderIndex(2, 0)] == 0 {
		t.Errorf("capped at step 0: %v", capped)
	}
}

// TestPreferFrameRate: a frame-rate preference picks the highest temporal
// step whose measured frame rate fits it, for the participant's tracks or
// one track; out of range is refused; 0 takes it off.
func TestPreferFrameRate(t *testing.T) {
	owner := testOwner()
	r := newReceiver(owner, TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}}, 64, time.Now())
	r.tm.fps = [svcTemporal]float64{6, 12, 24}
	sub := &Participant{id: "sub", room: &Room{kickCh: make(chan struct{}, 1)}}
	s := &subscriber{p: sub}
	d := newDownTrack(r, nil)
	maxStep := func() (int, int) {
		t.Helper()
		at := s.allocTrack(d, time.Now())
		return fromLadder(at.maxLayer)
	}
	if sp, st := maxStep(); sp != 2 || st != 2 {
		t.Fatalf("no preference: max (%d, %d), want (2, 2)", sp, st)
	}
	for _, c := range []struct {
		fps  float64
		step int
	}{{12, 1}, {13, 1}, {8, 0}, {1, 0}, {30, 2}, {0, 2}} {
		if err := sub.PreferFrameRate("pub", "", c.fps); err != nil {
			t.Fatal(err)
		}
		if _, st := maxStep(); st != c.step {
			t.Errorf("%v fps: step %d, want %d", c.fps, st, c.step)
		}
	}
	if err := sub.PreferFrameRate("pub", "v", 6); err != nil {
		t.Fatal(err)
	}
	if _, st := maxStep(); st != 0 {
		t.Errorf("a track's 6 fps: step %d, want 0", st)
	}
	for _, bad := range []float64{-1, 1000} {
		if err := sub.PreferFrameRate("pub", "", bad); err == nil {
			t.Errorf("%v fps accepted", bad)
		}
	}
	// Taken off (0): the track's cap goes, the participant's (none) applies.
	if err := sub.PreferFrameRate("pub", "v", 0); err != nil {
		t.Fatal(err)
	}
	if _, st := maxStep(); st != 2 {
		t.Errorf("cap taken off: step %d, want 2", st)
	}

	// Held at step 0 for bandwidth, the track grades at most good; at
	// step 0 because of a cap of 6 fps, it does not.
	d.setDecisionT(2, 0, true, "bandwidth", time.Now())
	if !d.temporalHeld(0) || d.temporalHeld(6) {
		t.Errorf("held at step 0: %v without a cap, %v with a 6 fps cap; want true, false", d.temporalHeld(0), d.temporalHeld(6))
	}
}

// TestSVCTemporalAV1Relayed: an AV1 SVC track relayed from another node
// comes as one stream per spatial layer, each with its descriptor
// (svc_sink.go); a far subscriber of the small stream steps down to S0T0
// and back up at switch points, in consecutive sequence numbers.
func TestSVCTemporalAV1Relayed(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3, Layers: []string{"s", "m", "l"},
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now())
	if r.svc || r.temporalSteps() != svcTemporal {
		t.Fatalf("a relayed AV1 track: svc %v, %d temporal steps", r.svc, r.temporalSteps())
	}
	d, fb := bindAV1Down(t, r)
	a := &av1SVC{t: t, r: r, seq: 100, now: time.Now()}
	// The small stream: the S0 frames; the S1 frames' numbers are skipped.
	s0 := func(key bool, tpl int) {
		a.unit(key, tpl)
		a.frame++
	}
	d.setDecision(0, false, "preference", a.now)
	s0(true, 0) // frame 0
	s0(false, 2)
	s0(false, 1) // 4
	if n := len(fb.take()); n != 6 {
		t.Fatalf("every temporal layer: %d packets, want 6", n)
	}
	d.setDecisionT(0, 0, true, "preference", a.now)
	s0(false, 2) // 6: S0T1, no switch point of S0T0: still sent
	s0(false, 1) // 8: S0T0, the switch
	s0(false, 2) // 10: dropped
	s0(false, 1) // 12
	sent := fb.take()
	checkRun(t, "T0", sent, []bool{false, true, false, true, false, true})
	if len(sent) != 6 {
		t.Fatalf("down to S0T0: %d packets, want 6 (frames 6, 8, 12)", len(sent))
	}
	d.setDecisionT(0, 2, false, "preference", a.now)
	s0(false, 2) // 14: S0T1, discardable: no switch point
	s0(false, 1) // 16: S0T0, a switch point of S0T1
	s0(false, 2) // 18
	sent = fb.take()
	checkRun(t, "up", sent, []bool{false, true, false, true})
	if len(sent) != 4 {
		t.Fatalf("back up: %d packets, want 4 (frames 16, 18)", len(sent))
	}
}
