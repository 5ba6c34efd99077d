package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// TestConnectionGrade: the round-trip time comes from a receiver report's
// LSR and DLSR, and the grade falls with loss, RTT and a layer below the
// view's preference.
func TestConnectionGrade(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := newReceiver(&Participant{id: "pub", stats: &counters{}}, TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, Layers: []string{"s", "l"}}, 64, now)
	d := newDownTrack(r, nil)
	sent := now.Add(-500 * time.Millisecond)
	// The report left 200 ms after our SR arrived: RTT 300 ms.
	d.gradeReport(rtcp.ReceptionReport{SSRC: 1, FractionLost: 0, LastSenderReport: ntpCompact(sent), Delay: 13107}, now)
	if rtt := d.rrRTT.Load(); rtt < 295 || rtt > 305 {
		t.Fatalf("rtt %d ms, want 300", rtt)
	}
	d.rrRTT.Store(50)
	d.decided = 1
	if g := d.grade(QualityLarge); g != 2 {
		t.Errorf("clean, on the wanted layer: grade %d, want 2 (excellent)", g)
	}
	d.decided = 0
	if g := d.grade(QualityLarge); g != 1 {
		t.Errorf("below the wanted layer: grade %d, want 1 (good)", g)
	}
	if g := d.grade(QualitySmall); g != 2 {
		t.Errorf("a thumbnail on the small layer: grade %d, want 2", g)
	}
	d.rrLoss.Store(26)
	if g := d.grade(QualitySmall); g != 0 {
		t.Errorf("10%% loss: grade %d, want 0 (poor)", g)
	}
	d.rrLoss.Store(0)
	d.decided = -1
	if g := d.grade(QualitySmall); g != 0 {
		t.Errorf("paused for want of bandwidth: grade %d, want 0", g)
	}
}
