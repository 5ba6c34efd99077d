package sfu

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fakeBinding is the TrackLocalContext pion would hand a down-track, with
// a writer that records what is sent.
type fakeBinding struct {
	codecs []webrtc.RTPCodecParameters
	exts   []webrtc.RTPHeaderExtensionParameter
	ssrc   webrtc.SSRC
	rtx    webrtc.SSRC

	mu   sync.Mutex
	sent []*rtp.Packet
}

func (f *fakeBinding) CodecParameters() []webrtc.RTPCodecParameters           { return f.codecs }
func (f *fakeBinding) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return f.exts }
func (f *fakeBinding) SSRC() webrtc.SSRC                                      { return f.ssrc }
func (f *fakeBinding) SSRCRetransmission() webrtc.SSRC                        { return f.rtx }
func (f *fakeBinding) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (f *fakeBinding) WriteStream() webrtc.TrackLocalWriter                   { return f }
func (f *fakeBinding) ID() string                                             { return "binding" }
func (f *fakeBinding) RTCPReader() interceptor.RTCPReader                     { return nil }

func (f *fakeBinding) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	p := &rtp.Packet{Header: h.Clone(), Payload: append([]byte(nil), payload...)}
	f.mu.Lock()
	f.sent = append(f.sent, p)
	f.mu.Unlock()
	return len(payload), nil
}

func (f *fakeBinding) Write(b []byte) (int, error) { return len(b), nil }

func (f *fakeBinding) take() []*rtp.Packet {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sent
	f.sent = nil
	return s
}

func testOwner() *Participant {
	return &Participant{id: "pub", stats: &counters{}, sfu: &SFU{cfg: Config{}.withDefaults()}}
}

func marshal(t *testing.T, p *rtp.Packet) []byte {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDownTrackNACKOverRTX forwards a layer, then NACKs a packet: it comes
// back from the receiver's cache as RTX (RFC 4588: its own SSRC, payload
// type and sequence, the original sequence number first), rewritten
// exactly as the original was sent.
func TestDownTrackNACKOverRTX(t *testing.T) {
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, Layers: []string{"s", "l"}}, 64, time.Now())
	d := newDownTrack(r, nil)
	fb := &fakeBinding{ssrc: 1111, rtx: 2222, codecs: []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 100},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=100"}, PayloadType: 101},
	}}
	c, err := d.Bind(fb)
	if err != nil || c.PayloadType != 100 {
		t.Fatalf("bind: %v %v", c, err)
	}
	r.addDown(d)
	now := time.Now()
	d.setDecision(1, false, "", now)
	for i := 0; i < 10; i++ {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(65530 + i), Timestamp: 9000, SSRC: 5},
			Payload: vp8Payload(i == 0, i == 0, 77, 3, 20)}
		if err := r.WriteRTP(1, marshal(t, p), now); err != nil {
			t.Fatal(err)
		}
	}
	sent := fb.take()
	if len(sent) != 10 || sent[0].SSRC != 1111 || sent[0].PayloadType != 100 {
		t.Fatalf("forwarded %d packets, first %+v", len(sent), sent[0].Header)
	}
	target := sent[7]
	d.onNACK(&rtcp.TransportLayerNack{MediaSSRC: 1111, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{target.SequenceNumber})}, now)
	re := fb.take()
	if len(re) != 1 {
		t.Fatalf("%d retransmissions", len(re))
	}
	x := re[0]
	if x.SSRC != 2222 || x.PayloadType != 101 || x.Timestamp != target.Timestamp {
		t.Fatalf("rtx header %+v", x.Header)
	}
	if osn := uint16(x.Payload[0])<<8 | uint16(x.Payload[1]); osn != target.SequenceNumber || !bytes.Equal(x.Payload[2:], target.Payload) {
		t.Fatalf("rtx payload: osn %d, want %d; payload equal %v", osn, target.SequenceNumber, bytes.Equal(x.Payload[2:], target.Payload))
	}
	// A second NACK right away is not answered twice.
	d.onNACK(&rtcp.TransportLayerNack{MediaSSRC: 1111, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{target.SequenceNumber})}, now)
	if n := len(fb.take()); n != 0 {
		t.Fatalf("resent %d times within the resend gap", n)
	}
	if r.stats.retransmits.Load() != 1 || r.stats.nacksReceived.Load() != 2 {
		t.Fatalf("counters %d retransmits, %d nacks", r.stats.retransmits.Load(), r.stats.nacksReceived.Load())
	}
}

func redReceiver(t *testing.T) *Receiver {
	t.Helper()
	return newReceiver(testOwner(), TrackParams{ID: "a", Kind: webrtc.RTPCodecTypeAudio, AudioLevelExt: 3,
		Codec: webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2}}, 0, time.Now())
}

func writeRED(t *testing.T, r *Receiver, seq uint16, frames [][]byte, now time.Time) {
	t.Helper()
	cur := frames[seq]
	var payload []byte
	if seq > 0 {
		payload = redPayload(111, []uint16{960}, [][]byte{frames[seq-1]}, cur)
	} else {
		payload = redPayload(111, nil, nil, cur)
	}
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 63, SequenceNumber: 100 + seq, Timestamp: 48000 + 960*uint32(seq)}, Payload: payload}
	_ = p.SetExtension(3, []byte{0x80 | 33})
	if err := r.WriteRTP(0, marshal(t, p), now); err != nil {
		t.Fatal(err)
	}
}

// TestDownTrackStripsAndRecoversRED: a subscriber without RED gets plain
// Opus, and a packet lost upstream is rebuilt from the next packet's
// redundancy, with its own sequence number and timestamp.
func TestDownTrackStripsAndRecoversRED(t *testing.T) {
	r := redReceiver(t)
	d := newDownTrack(r, nil)
	fb := &fakeBinding{ssrc: 7, codecs: []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 109}},
		exts: []webrtc.RTPHeaderExtensionParameter{{URI: audioLevelURI, ID: 9}}}
	if c, err := d.Bind(fb); err != nil || c.PayloadType != 109 {
		t.Fatalf("bind %v %v", c, err)
	}
	r.addDown(d)
	frames := [][]byte{[]byte("f0"), []byte("f1"), []byte("f2"), []byte("f3")}
	now := time.Now()
	writeRED(t, r, 0, frames, now)
	writeRED(t, r, 1, frames, now)
	writeRED(t, r, 3, frames, now) // 2 lost upstream
	sent := fb.take()
	if len(sent) != 4 {
		t.Fatalf("sent %d packets, want 4 (one recovered)", len(sent))
	}
	for i, p := range sent {
		if p.PayloadType != 109 || !bytes.Equal(p.Payload, frames[i]) {
			t.Fatalf("packet %d: pt %d payload %q", i, p.PayloadType, p.Payload)
		}
		if i > 0 && (p.SequenceNumber != sent[i-1].SequenceNumber+1 || p.Timestamp != sent[i-1].Timestamp+960) {
			t.Fatalf("packet %d: seq %d ts %d after %d %d", i, p.SequenceNumber, p.Timestamp, sent[i-1].SequenceNumber, sent[i-1].Timestamp)
		}
		if lvl := p.GetExtension(9); i != 2 && (len(lvl) != 1 || lvl[0] != 33) {
			t.Fatalf("packet %d: audio level %v not moved to the subscriber's extension id", i, lvl)
		}
	}
}

// TestDownTrackKeepsREDWithItsPayloadTypes: a RED subscriber gets RED, with
// the inner Opus payload type renumbered to its own.
func TestDownTrackKeepsREDWithItsPayloadTypes(t *testing.T) {
	r := redReceiver(t)
	d := newDownTrack(r, nil)
	fb := &fakeBinding{ssrc: 7, codecs: []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2}, PayloadType: 120},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 109}}}
	if c, err := d.Bind(fb); err != nil || c.PayloadType != 120 {
		t.Fatalf("bind %v %v", c, err)
	}
	r.addDown(d)
	frames := [][]byte{[]byte("f0"), []byte("f1")}
	writeRED(t, r, 0, frames, time.Now())
	writeRED(t, r, 1, frames, time.Now())
	sent := fb.take()
	if len(sent) != 2 {
		t.Fatalf("sent %d", len(sent))
	}
	blocks, err := parseRED(sent[1].Payload, nil)
	if err != nil || len(blocks) != 2 || !bytes.Equal(blocks[1].data, frames[1]) || !bytes.Equal(blocks[0].data, frames[0]) {
		t.Fatalf("red %v %+v", err, blocks)
	}
	for _, b := range blocks {
		if b.pt != 109 {
			t.Fatalf("inner payload type %d, want the subscriber's 109", b.pt)
		}
	}
}

// TestReceiverThrottlesKeyframeRequests: many requests (from many
// subscribers) make one PLI per layer per interval.
func TestReceiverThrottlesKeyframeRequests(t *testing.T) {
	up := &countingUpstream{}
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Upstream: up,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, Layers: []string{"s", "l"}}, 64, time.Now())
	t.Cleanup(r.close) // the throttled requests wait on timers
	now := time.Unix(100, 0)
	for i := 0; i < 100; i++ {
		r.requestKeyframe(1, now.Add(time.Duration(i)*time.Millisecond))
		r.requestKeyframe(0, now.Add(time.Duration(i)*time.Millisecond))
	}
	if up.n.Load() != 2 {
		t.Fatalf("%d PLIs for 200 requests within %v", up.n.Load(), 100*time.Millisecond)
	}
	r.requestKeyframe(1, now.Add(keyframeInterval))
	if up.n.Load() != 3 {
		t.Fatal("no PLI after the interval")
	}
}

// TestReceiverAsksAgainAfterThrottle: a request inside the interval of
// the last is asked again when the interval ends, unless a key frame
// arrived meanwhile (its requester took that one).
func TestReceiverAsksAgainAfterThrottle(t *testing.T) {
	for _, arrived := range []bool{false, true} {
		up := &countingUpstream{}
		r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo, Upstream: up,
			Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, Layers: []string{"s", "l"}}, 64, time.Now())
		now := time.Now()
		r.requestKeyframe(1, now)
		r.requestKeyframe(1, now.Add(10*time.Millisecond)) // throttled: it waits
		r.requestKeyframe(1, now.Add(20*time.Millisecond)) // so does this one, with it
		if arrived {
			r.layers[1].replay.kfAt.Store(now.Add(30 * time.Millisecond).UnixNano())
		}
		deadline := time.Now().Add(10 * time.Second)
		for waiting(r, 1) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		want := int64(2)
		if arrived {
			want = 1
		}
		if got := up.n.Load(); got != want {
			t.Errorf("key frame arrived %v: %d requests upstream, want %d", arrived, got, want)
		}
		r.close()
	}
}

// waiting: a throttled request of layer waits on its timer.
func waiting(r *Receiver, layer int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.kfLater[layer] != nil
}

type countingUpstream struct{ n atomic.Int64 }

func (c *countingUpstream) RequestKeyframe(int)    { c.n.Add(1) }
func (c *countingUpstream) SetLayersWanted([]bool) {}

// TestUnavailableDowngradeIsNotHeld: a switch down because the layer
// stopped arriving does not hold the track against going back up; a
// bandwidth downgrade does.
func TestUnavailableDowngradeIsNotHeld(t *testing.T) {
	for _, c := range []struct {
		reason string
		held   bool
	}{{reasonUnavailable, false}, {"bandwidth", true}} {
		r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
			Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, Layers: []string{"s", "l"}}, 64, time.Now())
		d := newDownTrack(r, nil)
		now := time.Now()
		d.setDecision(1, false, "", now)
		d.setDecision(0, true, c.reason, now.Add(10*time.Second))
		d.mu.Lock()
		held := d.hold.holding(now.Add(11 * time.Second))
		d.mu.Unlock()
		if held != c.held {
			t.Errorf("down for %s: held %v, want %v", c.reason, held, c.held)
		}
	}
}
