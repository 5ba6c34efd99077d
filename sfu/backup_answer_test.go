package sfu

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu/sfutest"
)

// backupFromAnswer sets up a primary in codec mime with a VP8 backup whose
// packets are real: alice (a pion client on SFU a) publishes VP8
// simulcast, and on SFU b the remote participant pub publishes the primary
// P (no packets) and, relayed from alice's video as a trunk would, the
// backup B.
func backupFromAnswer(t *testing.T, primary webrtc.RTPCodecCapability) (b *SFU, pub *Participant) {
	t.Helper()
	a := newTestSFU(t, nil)
	t.Cleanup(func() { _ = a.Close() })
	b = newTestSFU(t, nil)
	t.Cleanup(func() { _ = b.Close() })
	alice := join(t, a, "r", "alice", sfutest.Options{Layers: []string{"s", "l"}})
	var src *Receiver
	deadline := time.Now().Add(10 * time.Second)
	for src == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if tr := alice.p.Tracks(); len(tr) > 0 {
			src = tr[0]
		}
	}
	if src == nil {
		t.Fatal("alice published no video")
	}
	pub, err := b.Join("r", "", ParticipantParams{ID: "pub", CanPublish: true, Remote: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Close)
	if _, err := pub.PublishTrack(TrackParams{ID: "P", Kind: webrtc.RTPCodecTypeVideo, Codec: primary,
		Layers: []string{"s", "l"}, Upstream: &wantRecorder{}}); err != nil {
		t.Fatal(err)
	}
	rl := &relay{t: t, from: src, owner: pub, sinks: map[int]func(){}}
	if rl.into, err = pub.PublishTrack(TrackParams{ID: "B", Kind: webrtc.RTPCodecTypeVideo, Codec: src.Codec(),
		Layers: src.Info().Layers, Upstream: rl, BackupFor: "P"}); err != nil {
		t.Fatal(err)
	}
	for i := range src.Layers() {
		rl.setSink(i, true)
	}
	return b, pub
}

// h264 is the H.264 profile the node registers first.
var h264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}

// TestBackupFromAnswer: a subscriber that declares nothing and whose
// answers accept only VP8 receives the VP8 backup of an H.264 camera,
// under the camera's track ID, and the node says what it learned.
func TestBackupFromAnswer(t *testing.T) {
	b, _ := backupFromAnswer(t, h264)
	v := join(t, b, "r", "v", sfutest.Options{Subscribe: true})
	v.waitRecv("the VP8 backup", func(st map[string]sfutest.TrackStats) bool {
		s, ok := trackOf(st, "video")
		return ok && s.Participant == "pub" && s.Track == "P" && strings.EqualFold(s.Mime, webrtc.MimeTypeVP8) && s.Keyframes > 0 && s.Packets > 20
	})
	if got := received(v.p); !slices.Equal(got, []string{"B"}) {
		t.Errorf("the subscriber receives %v, want the backup [B]", got)
	}
	if got := v.p.decodeList(); !slices.Equal(got, []string{"vp8"}) {
		t.Errorf("learned %v, want [vp8]", got)
	}
	noEvent[CodecUnsupported](t, v)
}

// TestBackupFromAnswerRenegotiated: a subscriber that declares nothing
// and accepts VP9 gets the VP9 primary; when its answers stop accepting
// VP9 (setCodecPreferences, as a page can), it moves to the VP8 backup,
// and back to the primary when they accept VP9 again.
func TestBackupFromAnswerRenegotiated(t *testing.T) {
	b, pub := backupFromAnswer(t, video(webrtc.MimeTypeVP9))
	v := join(t, b, "r", "v", sfutest.Options{Subscribe: true, MoreVideo: []string{webrtc.MimeTypeVP9}})
	waitFor(t, "the VP9 primary picked", func() bool { return slices.Equal(received(v.p), []string{"P"}) })
	waitFor(t, "the VP9 down-track bound", func() bool {
		v.p.sub.mu.Lock()
		defer v.p.sub.mu.Unlock()
		for r, d := range v.p.sub.downs {
			d.mu.Lock()
			bound := d.bound
			d.mu.Unlock()
			if r.id == "P" && bound {
				return true
			}
		}
		return false
	})
	v.c.RestrictVideo([]string{webrtc.MimeTypeVP8})
	// Anything that renegotiates: here pub publishes audio.
	if _, err := pub.PublishTrack(TrackParams{ID: "A", Kind: webrtc.RTPCodecTypeAudio,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, Upstream: &wantRecorder{}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the VP8 backup picked", func() bool { return slices.Equal(received(v.p), []string{"A", "B"}) })
	v.waitRecv("the VP8 backup", func(st map[string]sfutest.TrackStats) bool {
		for _, s := range st {
			if s.Track == "P" && strings.EqualFold(s.Mime, webrtc.MimeTypeVP8) && s.Packets > 20 {
				return true
			}
		}
		return false
	})
	// Accepting VP9 again brings the primary back at the next renegotiation.
	v.c.RestrictVideo(nil)
	if _, err := pub.PublishTrack(TrackParams{ID: "A2", Kind: webrtc.RTPCodecTypeAudio,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, Upstream: &wantRecorder{}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the VP9 primary picked again", func() bool { return slices.Equal(received(v.p), []string{"A", "A2", "P"}) })
	noEvent[CodecUnsupported](t, v)
}

// TestNoCodecReported: a subscriber whose answers accept only VP8 and a
// camera sent in H.264 with no backup: no down-track is left waiting for
// a codec the connection lacks (the audio still flows), and the client is
// told once, with the codecs on both sides.
func TestNoCodecReported(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	v := join(t, s, "x", "v", sfutest.Options{Subscribe: true})
	join(t, s, "x", "alice", sfutest.Options{Audio: true})
	v.waitRecv("alice's audio", func(st map[string]sfutest.TrackStats) bool {
		a, ok := trackOf(st, "audio")
		return ok && a.Packets > 5
	})
	pub := joinH264Camera(t, s)
	defer pub.Close()
	e := v.waitEvent("unsupported codec", func(e Event) bool { _, ok := e.(CodecUnsupported); return ok }).(CodecUnsupported)
	if e.ParticipantID != "pub" || e.TrackID != "P" || !slices.Equal(e.Codecs, []string{"H264"}) || !slices.Equal(e.Decodes, []string{"vp8"}) {
		t.Errorf("event %+v", e)
	}
	waitFor(t, "the H.264 down-track removed", func() bool {
		for _, id := range received(v.p) {
			if id == "P" {
				return false
			}
		}
		return true
	})
	// The connection still negotiates: a later track arrives.
	bob := join(t, s, "x", "bob", sfutest.Options{Layers: []string{"s", "l"}})
	defer bob.close()
	v.waitRecv("bob's video", func(st map[string]sfutest.TrackStats) bool {
		for _, s := range st {
			if s.Participant == "bob" && s.Kind == "video" && s.Packets > 10 {
				return true
			}
		}
		return false
	})
	v.mu.Lock()
	n := 0
	for _, e := range v.events {
		if _, ok := e.(CodecUnsupported); ok {
			n++
		}
	}
	v.mu.Unlock()
	if n != 1 {
		t.Errorf("told %d times, want once", n)
	}
}

// TestLateBackupNotReported: a primary a VP8-only client cannot decode,
// whose backup is published a moment later (as a trunk mirrors them one
// by one), is no error: the client gets the backup and is told nothing.
func TestLateBackupNotReported(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	v := join(t, s, "x", "v", sfutest.Options{Subscribe: true})
	pub := joinH264Camera(t, s)
	defer pub.Close()
	waitFor(t, "VP8 learned", func() bool { return slices.Equal(v.p.decodeList(), []string{"vp8"}) })
	time.Sleep(unservedGrace / 4)
	if _, err := pub.PublishTrack(TrackParams{ID: "B", Kind: webrtc.RTPCodecTypeVideo, Codec: video(webrtc.MimeTypeVP8),
		Layers: []string{"s", "l"}, Upstream: &wantRecorder{}, BackupFor: "P"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the backup picked", func() bool { return slices.Equal(received(v.p), []string{"B"}) })
	time.Sleep(unservedGrace + 200*time.Millisecond) // room ticks every 50 ms
	noEvent[CodecUnsupported](t, v)
}

// noEvent fails if pr received an event of type E.
func noEvent[E Event](t *testing.T, pr *peer) {
	t.Helper()
	pr.mu.Lock()
	defer pr.mu.Unlock()
	for _, e := range pr.events {
		if _, ok := e.(E); ok {
			t.Errorf("%s: unexpected %T %+v", pr.p.ID(), e, e)
		}
	}
}

// FuzzAnswerVideo: reading an answer's video sections never panics, keeps
// its bounds, and what every live section accepts is a set of names.
func FuzzAnswerVideo(f *testing.F) {
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\nm=video 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:2\r\n")
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98\r\na=mid:0\r\na=rtpmap:98 H264/90000\r\na=fmtp:98 packetization-mode=1;profile-level-id=42e01f\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n")
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 300\r\na=mid:0\r\na=rtpmap:300 VP8\r\na=rtpmap:x /\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		var parsed sdp.SessionDescription
		if parsed.UnmarshalString(text) != nil {
			return
		}
		byMid, common := answerVideo(&parsed)
		if len(byMid) > maxAnswerSections {
			t.Fatalf("%d sections kept", len(byMid))
		}
		for i, c := range common {
			if slices.Contains(common[i+1:], c) || slices.Contains(repairFormats, c) {
				t.Fatalf("common %v", common)
			}
		}
	})
}

// joinH264Camera joins "pub" to room x as a remote publisher of an H.264
// simulcast camera "P" with no backup.
func joinH264Camera(t *testing.T, s *SFU) *Participant {
	t.Helper()
	pub, err := s.Join("x", "", ParticipantParams{ID: "pub", CanPublish: true, Remote: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.PublishTrack(TrackParams{ID: "P", Kind: webrtc.RTPCodecTypeVideo, Codec: h264,
		Layers: []string{"s", "l"}, Upstream: &wantRecorder{}}); err != nil {
		pub.Close()
		t.Fatal(err)
	}
	return pub
}
