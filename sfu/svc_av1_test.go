package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// av1SVC feeds an AV1 track temporal units of the L2T2_KEY-like test
// structure (dd_test.go), two packets per layer frame, with the
// dependency descriptor as extension 3.
type av1SVC struct {
	t     *testing.T
	r     *Receiver
	seq   uint16
	frame uint16
	now   time.Time
	// active, when set, is sent as the active decode targets with the
	// next unit's first packet.
	active    int
	activeSet bool
}

// unit sends one temporal unit made of the frames of the templates given
// (S0 first); key attaches the structure to the first frame.
func (a *av1SVC) unit(key bool, templates ...int) {
	for i, tpl := range templates {
		for k := range 2 {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: a.seq,
				Timestamp: uint32(a.frame) * 3000, SSRC: 5, Marker: i == len(templates)-1 && k == 1},
				Payload: []byte{0x10, 0xaa, 0xbb}}
			if key && i == 0 && k == 0 {
				p.Payload[0] |= 0x08 // N: a new coded video sequence
			}
			active := -1
			if a.activeSet && i == 0 && k == 0 {
				active, a.activeSet = a.active, false
			}
			if err := p.SetExtension(3, buildDD(k == 0, k == 1, tpl, a.frame, key && i == 0, active)); err != nil {
				a.t.Fatal(err)
			}
			a.seq++
			if err := a.r.WriteRTP(0, marshal(a.t, p), a.now); err != nil {
				a.t.Fatal(err)
			}
		}
		a.frame++
	}
}

// TestAV1SVCForwarding: an AV1 stream with the dependency descriptor is
// SVC. A large subscriber gets the frames of the S1T1 decode target (the
// key frame's S0 frame and the S1 frames: S1 does not depend on later S0
// frames in a KEY structure), a small one those of S0T1, in consecutive
// sequence numbers with the marker at the end of the top frame and the
// descriptor passed on; going up waits for a switch point (a key frame).
func TestAV1SVCForwarding(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now())
	if !r.svc || r.layerCount() != 3 {
		t.Fatalf("a single-stream AV1 track with the descriptor is not SVC: svc %v, %d layers", r.svc, r.layerCount())
	}
	if plain := newReceiver(testOwner(), TrackParams{ID: "w", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now()); plain.svc {
		t.Fatal("an AV1 track without the descriptor is SVC")
	}
	d, fb := bindAV1Down(t, r)
	a := &av1SVC{t: t, r: r, seq: 100, now: time.Now()}
	d.setDecision(1, false, "preference", a.now)
	a.unit(true, 0, 3) // key: S0, S1 (frames 0, 1)
	if sent := fb.take(); len(sent) != 4 {
		t.Fatalf("large: %d packets of the key frame's 4 forwarded", len(sent))
	} else if b := sent[0].GetExtension(7); !bytes.Equal(b, buildDD(true, false, 0, 0, true, -1)) {
		t.Errorf("descriptor not passed on as extension 7: %x", b)
	}

	// Down waits for a switch point of S0T1 (an S0T0 frame) whose chain
	// the subscriber has: frame 4, whose chain goes back to the key frame.
	d.setDecision(0, false, "preference", a.now)
	a.unit(false, 2, 5) // frames 2 (S0T1, not sent), 3 (S1T1)
	a.unit(false, 1, 4) // 4 (S0T0: switch), 5
	a.unit(false, 2, 5) // 6 (S0T1), 7
	sent := fb.take()
	if len(sent) != 6 {
		t.Fatalf("small: %d packets forwarded, want S1T1's 2, then S0T0's and S0T1's 4", len(sent))
	}
	checkRun(t, "down", sent, []bool{false, true, false, true, false, true})
	if b := sent[0].GetExtension(7); !bytes.Equal(b, buildDD(true, false, 5, 3, false, -1)) {
		t.Errorf("went down before the switch point: %x", b)
	}

	// Up: S1T0 (frame 9) is a switch point of S1, but its chain goes back
	// to frame 5, which this subscriber did not get: it waits for a key
	// frame, which is asked for.
	d.setDecision(1, false, "preference", a.now)
	a.unit(false, 1, 4)
	if n := len(fb.take()); n != 2 {
		t.Errorf("up with a broken chain: %d packets, want 2 (S0)", n)
	}
	a.unit(true, 0, 3)
	if n := len(fb.take()); n != 4 {
		t.Errorf("up at a key frame: %d packets, want 4", n)
	}

	// Down long after the key frame: S0's chain is broken (the large
	// target has no S0 frames but the key frame's), so S1 goes on.
	a.unit(false, 2, 5)
	a.unit(false, 1, 4)
	fb.take()
	d.setDecision(0, false, "preference", a.now)
	a.unit(false, 1, 4)
	sent = fb.take()
	if len(sent) != 2 || sent[0].GetExtension(7)[0]&0x3f != 4+10 {
		t.Errorf("down with a broken chain: %d packets, want S1T0's 2", len(sent))
	}
}

// checkRun checks consecutive sequence numbers and the marker bits.
func checkRun(t *testing.T, what string, sent []*rtp.Packet, marks []bool) {
	t.Helper()
	for i, p := range sent {
		if i > 0 && p.SequenceNumber != sent[i-1].SequenceNumber+1 {
			t.Errorf("%s: sequence gap: %d after %d", what, p.SequenceNumber, sent[i-1].SequenceNumber)
		}
		if i < len(marks) && p.Marker != marks[i] {
			t.Errorf("%s: packet %d: marker %v", what, i, p.Marker)
		}
	}
}

// TestAV1SVCSink: the trunk's stream of spatial layer 0 carries the S0
// frames, renumbered, with the marker at their end; that of layer 1 the
// S1 decode target's frames.
func TestAV1SVCSink(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now())
	s0, s1 := &packetSink{}, &packetSink{}
	for i, s := range []*packetSink{s0, s1} {
		if _, err := r.AddSink(i, s); err != nil {
			t.Fatal(err)
		}
	}
	a := &av1SVC{t: t, r: r, seq: 100, now: time.Now()}
	a.unit(true, 0, 3)
	a.unit(false, 2, 5)
	a.unit(false, 1, 4)
	if len(s0.got) != 6 || len(s1.got) != 8 {
		t.Fatalf("sinks got %d and %d packets, want 6 and 8", len(s0.got), len(s1.got))
	}
	checkRun(t, "S0 stream", s0.got, []bool{false, true, false, true, false, true})
	checkRun(t, "S1 stream", s1.got, []bool{false, false, false, true, false, true, false, true})
	if len(s1.got[0].GetExtension(3)) == 0 {
		t.Error("the trunk's stream lost the descriptor")
	}
	// Costs are counted per decode target: S0's 3 frames, S1's 4 (the key
	// frame's S0 and three S1 frames); large is S1's target too.
	if b0, b1, b2 := r.svcBytes[0].Load(), r.svcBytes[1].Load(), r.svcBytes[2].Load(); b0 != 6*3 || b1 != 8*3 || b2 != b1 {
		t.Errorf("bytes per layer %d %d %d, want 18 24 24", b0, b1, b2)
	}
}

// TestForwarderFrameNumbers: AV1 frame numbers continue across a layer
// switch, so that a key frame both layer streams carry (the trunk's
// streams of an SVC track) is not taken for the frame already sent.
func TestForwarderFrameNumbers(t *testing.T) {
	f := newForwarder(true, 90000, 1000, 0)
	f.setTarget(1)
	now := time.Now()
	p := func(layer int, seq uint64, fn uint16, key bool) fwdResult {
		t.Helper()
		r, ok := f.forward(&fwdPacket{layer: layer, extSeq: seq, ts: uint32(fn) * 3000, arrival: now, keyframe: key, fn: fn, hasFN: true})
		if !ok {
			t.Fatalf("layer %d frame %d not forwarded", layer, fn)
		}
		return r
	}
	p(1, 1<<16+10, 40, true)
	if r := p(1, 1<<16+11, 41, false); r.fn != 41 {
		t.Fatalf("first epoch: frame %d sent as %d", 41, r.fn)
	}
	f.setTarget(0)
	if r := p(0, 1<<16+500, 42, true); r.fn != 42 {
		t.Errorf("key frame 42 of the other layer sent as %d, want 42", r.fn)
	}
	f.setTarget(1)
	if r := p(1, 1<<16+12, 42, true); r.fn != 43 {
		t.Errorf("the same key frame from layer 1 sent as %d, want 43 (after 42)", r.fn)
	}
	if r := p(1, 1<<16+13, 44, false); r.fn != 45 {
		t.Errorf("next frame sent as %d, want 45", r.fn)
	}
}

// TestAV1SVCSameTarget: with two spatial layers, "medium" and "large" are
// one decode target: moving between them is immediate, asks for no key
// frame, and forwards the same frames.
func TestAV1SVCSameTarget(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now())
	d, fb := bindAV1Down(t, r)
	a := &av1SVC{t: t, r: r, seq: 100, now: time.Now()}
	d.setDecision(2, false, "preference", a.now)
	a.unit(true, 0, 3)
	d.setDecision(1, false, "preference", a.now)
	a.unit(false, 2, 5)
	if n := len(fb.take()); n != 6 {
		t.Fatalf("%d packets, want the key frame's 4 and S1T1's 2", n)
	}
	d.mu.Lock()
	cur, pending := d.svc.current, d.svc.pending
	d.mu.Unlock()
	if cur != 1 || pending {
		t.Errorf("current %d pending %v, want 1 and no switch pending", cur, pending)
	}
}

// FuzzAV1SVC feeds an AV1 SVC track packets with arbitrary descriptors
// (a structure first, then frames) through a down-track at each layer and
// the trunk's sinks: nothing panics, whatever the descriptors say.
func FuzzAV1SVC(f *testing.F) {
	f.Add(buildDD(true, false, 0, 0, true, -1), buildDD(true, true, 5, 1, false, -1), buildDD(true, true, 1, 2, false, 0b0101))
	f.Add(mustHex(ddChromiumKey), mustHex(ddChromiumS1T1), mustHex(ddChromiumS0T0))
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3,
			Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now())
		for l := range svcLayers {
			if _, err := r.AddSink(l, &packetSink{}); err != nil {
				t.Fatal(err)
			}
			d, _ := bindAV1Down(t, r)
			d.setDecision(l, false, "preference", time.Now())
		}
		for i, ext := range [][]byte{a, b, c, b, a, c} {
			if len(ext) == 0 || len(ext) > 255 {
				continue
			}
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: uint32(i) * 3000, SSRC: 5},
				Payload: []byte{byte(i) << 3, 0xaa}}
			if err := p.SetExtension(3, ext); err != nil {
				continue
			}
			raw, err := p.Marshal()
			if err != nil {
				continue
			}
			_ = r.WriteRTP(0, raw, time.Now())
		}
	})
}

// TestAV1SVCSinkInactiveTarget: when the publisher deactivates the S1
// targets, the trunk's stream of layer 1 keeps S1's frames until a switch
// point of S0's target (whose chain it has), and only then carries S0:
// never S0 frames whose references it lacks.
func TestAV1SVCSinkInactiveTarget(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, DDExt: 3,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}}, 64, time.Now())
	s1 := &packetSink{}
	if _, err := r.AddSink(1, s1); err != nil {
		t.Fatal(err)
	}
	a := &av1SVC{t: t, r: r, seq: 100, now: time.Now()}
	a.unit(true, 0, 3) // frames 0, 1
	a.active, a.activeSet = 0b0011, true
	a.unit(false, 2, 5) // 2: S0T1, not a switch point: S1T1 (3) still sent
	a.unit(false, 1, 4) // 4: S0T0, a switch point whose chain (0) was sent
	if len(s1.got) != 8 {
		t.Fatalf("the layer 1 stream got %d packets, want 8 (key frame, S1T1, then S0T0)", len(s1.got))
	}
	checkRun(t, "layer 1", s1.got, []bool{false, false, false, true, false, true, false, true})
	if b := s1.got[6].GetExtension(3); len(b) < 3 || b[0]&0x3f != 1+10 {
		t.Errorf("after the switch: %x, want S0T0's descriptor", b)
	}
}

// bindAV1Down adds a down-track of r bound to a fake AV1 subscriber that
// negotiated the dependency descriptor (extension ID 7).
func bindAV1Down(t *testing.T, r *Receiver) (*DownTrack, *fakeBinding) {
	t.Helper()
	d := newDownTrack(r, nil)
	fb := &fakeBinding{ssrc: 1111, codecs: []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000}, PayloadType: 98}},
		exts: []webrtc.RTPHeaderExtensionParameter{{URI: ddURI, ID: 7}}}
	if _, err := d.Bind(fb); err != nil {
		t.Fatal(err)
	}
	r.addDown(d)
	return d, fb
}
