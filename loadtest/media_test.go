package loadtest

import (
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
)

func TestVP8FrameCarriesProbe(t *testing.T) {
	sent := time.Unix(1700000000, 123456789)
	for _, key := range []bool{true, false} {
		f := vp8Frame(5000, key, 1280, 720, probe{sent: sent, frame: 42, layer: 'l'})
		if len(f) != 5000 {
			t.Fatalf("size %d, want 5000", len(f))
		}
		p, isKey, err := vp8Probe(f)
		if err != nil || isKey != key || !p.sent.Equal(sent) || p.frame != 42 || p.layer != 'l' {
			t.Fatalf("key=%v: got %+v key=%v err=%v", key, p, isKey, err)
		}
		// The frame tag must say what RFC 6386 says: show_frame set and the
		// first partition size covering the rest.
		tag := uint32(f[0]) | uint32(f[1])<<8 | uint32(f[2])<<16
		if tag&0x10 == 0 {
			t.Error("show_frame not set")
		}
		head := 3
		if key {
			head = 10
			if f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
				t.Error("keyframe without start code")
			}
			if w, h := int(f[6])|int(f[7])<<8, int(f[8])|int(f[9])<<8; w != 1280 || h != 720 {
				t.Errorf("keyframe size %dx%d", w, h)
			}
		}
		if int(tag>>5) != len(f)-head {
			t.Errorf("first partition size %d, want %d", tag>>5, len(f)-head)
		}
	}
}

// TestVP8FrameSurvivesPacketization checks that the probe sits in the first
// RTP packet of a frame, where the subscriber looks for it.
func TestVP8FrameSurvivesPacketization(t *testing.T) {
	f := vp8Frame(4000, true, 320, 180, probe{sent: time.Unix(5, 0), frame: 7, layer: 's'})
	pl := &codecs.VP8Payloader{EnablePictureID: true}
	pkts := pl.Payload(1200, f)
	if len(pkts) < 4 {
		t.Fatalf("%d packets, want at least 4", len(pkts))
	}
	var vp codecs.VP8Packet
	payload, err := vp.Unmarshal(pkts[0])
	if err != nil || vp.S != 1 || vp.PID != 0 {
		t.Fatalf("first packet: S=%d PID=%d err=%v", vp.S, vp.PID, err)
	}
	p, key, err := vp8Probe(payload)
	if err != nil || !key || p.frame != 7 {
		t.Fatalf("probe %+v key=%v err=%v", p, key, err)
	}
}

func TestOpusProbe(t *testing.T) {
	b := opusFrame(80, probe{sent: time.Unix(9, 9), frame: 3, layer: 'a'})
	if len(b) != 80 || b[0]>>3 != 31 {
		t.Fatalf("len %d toc %#x", len(b), b[0])
	}
	p, err := opusProbe(b)
	if err != nil || p.frame != 3 || !p.sent.Equal(time.Unix(9, 9)) {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := opusProbe([]byte{0xf8, 0xff, 0xfe}); err == nil {
		t.Fatal("a real Opus silence frame parsed as a probe")
	}
}

func TestFrameSizesKeepTheBitrate(t *testing.T) {
	for _, tc := range []struct {
		bitrate, fps, factor int
		interval             time.Duration
	}{{1_500_000, 25, 5, 4 * time.Second}, {150_000, 25, 5, 4 * time.Second}, {1_500_000, 30, 3, time.Second}} {
		s := newFrameSizes(tc.bitrate, tc.fps, tc.interval, tc.factor)
		n := int(tc.interval.Seconds() * float64(tc.fps))
		got := float64((s.key+(n-1)*s.delta)*8) / tc.interval.Seconds()
		if got < 0.97*float64(tc.bitrate) || got > 1.01*float64(tc.bitrate) {
			t.Errorf("%+v: %.0f bit/s, want ≈%d", tc, got, tc.bitrate)
		}
		if s.key != tc.factor*s.delta {
			t.Errorf("%+v: key %d, delta %d", tc, s.key, s.delta)
		}
	}
}

func FuzzProbes(f *testing.F) {
	f.Add(vp8Frame(100, true, 640, 480, probe{sent: time.Unix(1, 0), frame: 1, layer: 'l'}))
	f.Add(vp8Frame(30, false, 0, 0, probe{frame: 2, layer: 's'}))
	f.Add(opusFrame(40, probe{frame: 3, layer: 'a'}))
	f.Add([]byte{})
	f.Add([]byte{0x10, 0, 0, 'Q', 'R', 'T', 'N'})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Neither decoder may panic, and a probe they accept must round-trip.
		if p, _, err := vp8Probe(b); err == nil {
			head := 3
			if b[0]&1 == 0 {
				head = 10
			}
			if q, err := readProbe(b[head:]); err != nil || q != p {
				t.Fatalf("vp8 probe %+v does not round-trip: %+v %v", p, q, err)
			}
		}
		_, _ = opusProbe(b)
		var vp codecs.VP8Packet
		_, _ = vp.Unmarshal(b)
	})
}

func TestGeneratorDynacastPausesAndResumes(t *testing.T) {
	g := &generator{layers: []*layer{{rid: "s"}, {rid: "l"}}}
	g.setActive([]string{"s"})
	if g.layers[0].paused.Load() || !g.layers[1].paused.Load() {
		t.Fatal("want s active, l paused")
	}
	g.layers[1].keyWanted.Store(false)
	g.setActive([]string{"s", "l"})
	if g.layers[1].paused.Load() || !g.layers[1].keyWanted.Load() {
		t.Fatal("a resumed layer must restart with a keyframe")
	}
	if g.layers[0].keyWanted.Load() {
		t.Fatal("a layer that stayed active must not get a keyframe")
	}
}
