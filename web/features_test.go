package web_test

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/web/browsertest"
)

// TestBrowserMediaFeatures checks, in real Chromium, what the node adds to
// plain forwarding: the publisher sends audio/red because the node's answer
// prefers it (seen on the node: the codec and payload type it receives);
// FlexFEC-03 repair packets reach a Chromium subscriber and are used
// (getStats' fecPacketsReceived) while video keeps decoding; the active
// speaker event reaches the page; a muted publisher's audio is reported
// muted to the others and stops (and its publisher stops being a speaker),
// and resumes at once on unmute. One browser, two tabs; the fake microphone
// plays speech-like audio.
func TestBrowserMediaFeatures(t *testing.T) {
	wav := t.TempDir() + "/speech.wav"
	if err := browsertest.WriteSpeechWAV(wav, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	b := browsertest.StartT(t, browsertest.Options{FakeAudio: wav})
	n := startNodeT(t)
	base := strings.TrimSuffix(n.URL(), "/")
	alice := b.OpenT(t, pageURL(base, "feat", "alice", "meeting", "host"))
	bob := b.OpenT(t, pageURL(base, "feat", "bob", "meeting", "host"))
	waitDecoding(t, bob, []string{"alice"}, 10)
	as := waitDecoding(t, alice, []string{"bob"}, 10)
	ctx := context.Background()

	t.Run("red", func(t *testing.T) {
		var pub struct {
			Red bool
			SDP string
		}
		if err := alice.Eval(ctx, `({red: RTCRtpSender.getCapabilities('audio').codecs.some((c) => c.mimeType.toLowerCase() === 'audio/red'),
			sdp: window.qrtn.session._pub.remoteDescription.sdp})`, &pub); err != nil {
			t.Fatal(err)
		}
		if !pub.Red {
			t.Skip("this Chromium cannot send audio/red")
		}
		m := regexp.MustCompile(`(?m)^a=rtpmap:(\d+) red/48000`).FindStringSubmatch(pub.SDP)
		if m == nil {
			t.Fatal("the node's answer has no audio/red")
		}
		redPT, _ := strconv.Atoi(m[1])
		room := n.SFU().Room("feat")
		p := room.Participant(as.Participant)
		if p == nil {
			t.Fatal("alice is not in the room")
		}
		for _, tr := range p.Tracks() {
			s := tr.Snapshot()
			if s.Kind == "audio" && (!strings.EqualFold(s.Codec, "audio/red") || int(s.PayloadType) != redPT) {
				t.Errorf("the node receives alice's audio as %s, payload type %d; want audio/red, %d", s.Codec, s.PayloadType, redPT)
			}
		}
	})

	t.Run("flexfec", func(t *testing.T) {
		before, _ := bob.Stats(ctx)
		v0, _ := before.Track("alice", "video")
		_, err := bob.WaitStats(ctx, 30*time.Second, "FlexFEC packets received with video decoding", func(s browsertest.Stats) bool {
			v, ok := s.Track("alice", "video")
			return ok && v.FECPacketsReceived > 0 && v.FramesDecoded > v0.FramesDecoded+20
		})
		if err != nil {
			t.Fatal(err)
		}
		if n.SFU().Stats().FECPackets == 0 {
			t.Error("the node counts no FlexFEC packets sent")
		}
	})

	t.Run("speaker", func(t *testing.T) {
		_, err := bob.WaitStats(ctx, 30*time.Second, "alice announced as a speaker", func(s browsertest.Stats) bool {
			return slices.Contains(s.Speakers, as.Participant)
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("mute", func(t *testing.T) {
		if err := alice.Eval(ctx, `window.qrtn.mute('audio', true)`, nil); err != nil {
			t.Fatal(err)
		}
		muted, err := bob.WaitStats(ctx, 10*time.Second, "alice's audio reported muted", func(s browsertest.Stats) bool {
			a, ok := s.Track("alice", "audio")
			return ok && a.Muted
		})
		if err != nil {
			t.Fatal(err)
		}
		// What was in flight when the node muted the track arrives within
		// moments: wait until two snapshots in a row show the same bytes,
		// then nothing more may come for 2 s.
		prev := int64(-1)
		if _, err := bob.WaitStats(ctx, 10*time.Second, "alice's muted audio to stop", func(st browsertest.Stats) bool {
			a, _ := st.Track("alice", "audio")
			same := a.BytesReceived == prev
			prev = a.BytesReceived
			return same
		}); err != nil {
			t.Fatal(err)
		}
		w, err := bob.Watch(ctx, "alice", 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if w.AudioBytes != 0 {
			t.Errorf("muted audio still flows: %s", w)
		}
		if v, _ := muted.Track("alice", "video"); v.Muted {
			t.Error("muting audio reported video muted")
		}
		if _, err := bob.WaitStats(ctx, 10*time.Second, "alice no longer a speaker", func(s browsertest.Stats) bool {
			return !slices.Contains(s.Speakers, as.Participant)
		}); err != nil {
			t.Error(err)
		}
		if err := alice.Eval(ctx, `window.qrtn.mute('audio', false)`, nil); err != nil {
			t.Fatal(err)
		}
		_, err = bob.WaitStats(ctx, 10*time.Second, "alice's audio flowing again", func(st browsertest.Stats) bool {
			a, ok := st.Track("alice", "audio")
			return ok && !a.Muted && a.BytesReceived > prev+1000
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
