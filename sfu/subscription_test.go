package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu/sfutest"
)

// received lists the track IDs a subscriber has down-tracks for.
func received(p *Participant) []string {
	p.sub.mu.Lock()
	defer p.sub.mu.Unlock()
	var ids []string
	for r := range p.sub.downs {
		ids = append(ids, r.id)
	}
	slices.Sort(ids)
	return ids
}

// TestSelectiveSubscription: a participant that joined with
// ManualSubscribe receives nothing until it subscribes to a participant,
// then its tracks, minus a track it turned off; a track nobody receives is
// paused at the publisher by dynacast; others keep receiving everything.
func TestSelectiveSubscription(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	alice := join(t, s, "x", "alice", sfutest.Options{Layers: []string{"s", "l"}, Audio: true})
	waitFor(t, "alice's two tracks", func() bool { return len(alice.p.Tracks()) == 2 })
	bob := joinWith(t, s, "x", "bob", sfutest.Options{Subscribe: true}, func(pp *ParticipantParams) { pp.ManualSubscribe = true })
	carol := join(t, s, "x", "carol", sfutest.Options{Subscribe: true})
	if got := received(bob.p); len(got) != 0 {
		t.Fatalf("bob receives %v before subscribing", got)
	}
	if got := received(carol.p); len(got) != 2 {
		t.Fatalf("carol (automatic) receives %v", got)
	}
	if err := bob.p.Subscribe("alice", "", true); err != nil {
		t.Fatal(err)
	}
	bob.waitRecv("alice's video and audio", func(st map[string]sfutest.TrackStats) bool {
		v, okv := trackOf(st, "video")
		a, oka := trackOf(st, "audio")
		return okv && oka && v.Packets > 30 && a.Packets > 10
	})
	var video *Receiver
	for _, r := range alice.p.Tracks() {
		if r.kind == webrtc.RTPCodecTypeVideo {
			video = r
		}
	}
	// Bob turns alice's video off; carol leaves: nobody receives it, and
	// alice is told to stop encoding it.
	if err := bob.p.Subscribe("alice", video.id, false); err != nil {
		t.Fatal(err)
	}
	if got := received(bob.p); len(got) != 1 || got[0] == video.id {
		t.Fatalf("bob receives %v after turning alice's video (%s) off", got, video.id)
	}
	carol.close()
	alice.waitEvent("every video layer paused", func(e Event) bool {
		pl, ok := e.(PublishLayers)
		return ok && len(pl.Layers) == 0
	})
	if err := bob.p.Subscribe("alice", "", false); err != nil {
		t.Fatal(err)
	}
	if got := received(bob.p); len(got) != 0 {
		t.Fatalf("bob receives %v after unsubscribing from alice", got)
	}
	// Rules are bounded.
	for i := range maxSubscriptionRules - 1 { // "alice" is one
		if err := bob.p.Subscribe("p"+itoa(i), "", true); err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
	}
	if err := bob.p.Subscribe("one-more", "", true); err != ErrTooManyRules {
		t.Fatalf("rule beyond the limit: %v", err)
	}
}

// wantRecorder is an Upstream that records dynacast calls.
type wantRecorder struct {
	mu    sync.Mutex
	wants [][]bool
}

func (w *wantRecorder) RequestKeyframe(int) {}
func (w *wantRecorder) SetLayersWanted(l []bool) {
	w.mu.Lock()
	w.wants = append(w.wants, slices.Clone(l))
	w.mu.Unlock()
}
func (w *wantRecorder) last() []bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.wants) == 0 {
		return nil
	}
	return w.wants[len(w.wants)-1]
}

// TestBackupCodec: a publisher sends its camera in AV1 with a VP8 backup.
// A subscriber that decodes AV1 receives the AV1 track; one that decodes
// only VP8 receives the backup, under the primary's ID; when the primary
// ends everyone gets the backup. The backup is not announced to clients.
func TestBackupCodec(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	all, vp8, pub := backupRoom(t, s, webrtc.MimeTypeAV1)
	defer pub.Close()
	// The backup arrives first, as it may from a browser.
	backup, err := pub.PublishTrack(TrackParams{ID: "B", Kind: webrtc.RTPCodecTypeVideo, Codec: video(webrtc.MimeTypeVP8),
		Layers: []string{"s", "l"}, Upstream: &wantRecorder{}, BackupFor: "P"})
	if err != nil {
		t.Fatal(err)
	}
	primary, err := pub.PublishTrack(TrackParams{ID: "P", Kind: webrtc.RTPCodecTypeVideo, Codec: video(webrtc.MimeTypeAV1),
		Layers: []string{"s", "l"}, Upstream: &wantRecorder{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := received(all.p); !slices.Equal(got, []string{"P"}) {
		t.Errorf("the AV1 subscriber receives %v, want [P]", got)
	}
	if got := received(vp8.p); !slices.Equal(got, []string{"B"}) {
		t.Errorf("the VP8-only subscriber receives %v, want [B]", got)
	}
	vp8.p.sub.mu.Lock()
	d := vp8.p.sub.downs[backup]
	vp8.p.sub.mu.Unlock()
	if d == nil || d.ID() != "P" {
		t.Errorf("the backup is not presented under the primary's ID")
	}
	for _, pr := range []*peer{all, vp8} {
		pr.mu.Lock()
		for _, e := range pr.events {
			if tp, ok := e.(TrackPublished); ok && tp.Track.ID == "B" {
				t.Errorf("%s was told of the backup track", pr.p.ID())
			}
		}
		pr.mu.Unlock()
	}
	pub.UnpublishTrack(primary)
	if got := received(all.p); !slices.Equal(got, []string{"B"}) {
		t.Errorf("after the primary ended, the AV1 subscriber receives %v, want [B]", got)
	}
}

// TestRemoteAudioUnsubscribed: the audio of a remote participant (fed by a
// trunk) is wanted only while somebody receives it, and a track mirrored
// with no subscriber is not wanted from the start.
func TestRemoteAudioUnsubscribed(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	bob := joinWith(t, s, "x", "bob", sfutest.Options{Subscribe: true}, func(pp *ParticipantParams) { pp.ManualSubscribe = true })
	ghost, err := s.Join("x", "", ParticipantParams{ID: "alice", CanPublish: true, Remote: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ghost.Close()
	up := &wantRecorder{}
	r, err := ghost.PublishTrack(TrackParams{ID: "A", Kind: webrtc.RTPCodecTypeAudio,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, Upstream: up})
	if err != nil {
		t.Fatal(err)
	}
	if w := r.PauseIfUnsubscribed(); !slices.Equal(w, []bool{false}) {
		t.Fatalf("a mirrored track nobody receives is wanted: %v", w)
	}
	if err := bob.p.Subscribe("alice", "", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the audio wanted", func() bool { return slices.Equal(up.last(), []bool{true}) })
	if err := bob.p.Subscribe("alice", "", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the audio unwanted", func() bool { return slices.Equal(up.last(), []bool{false}) })
}

// TestSyncRacingPublish: a subscriber's sync that read a publisher's
// tracks just before another track of it was published must not take that
// track away. A viewer joining a room while the trunk mirrors a far
// participant's two tracks is exactly this: the join's sync read one track,
// the second track's publish synced (and subscribed the viewer to) both,
// then the join's sync, applying what it had read, removed the second
// track's down-track, and the viewer never received it
// (TestBrowsersMoveBetweenAccessNodes, one track of two missing for good).
func TestSyncRacingPublish(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	cat := join(t, s, "x", "cat", sfutest.Options{Subscribe: true})
	ann, err := s.Join("x", "", ParticipantParams{ID: "ann", CanPublish: true, Remote: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	publish := func(id string, kind webrtc.RTPCodecType, codec webrtc.RTPCodecCapability) {
		if _, err := ann.PublishTrack(TrackParams{ID: id, Kind: kind, Codec: codec, Upstream: &wantRecorder{}}); err != nil {
			t.Error(err)
		}
	}
	publish("A", webrtc.RTPCodecTypeAudio, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
	// The first sync to read ann's tracks (only A) lets the video's
	// publish run before it goes on: to its end where nothing orders the
	// two syncs, until the wait below where the read and what follows are
	// one step (then the publish's sync runs after this one).
	var fired atomic.Bool
	published := make(chan struct{})
	cat.p.sub.syncRead = func() {
		if !fired.CompareAndSwap(false, true) {
			return
		}
		go func() {
			defer close(published)
			publish("V", webrtc.RTPCodecTypeVideo, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000})
		}()
		select {
		case <-published:
		case <-time.After(500 * time.Millisecond):
		}
	}
	cat.p.sub.syncOwner(ann)
	<-published
	if got := received(cat.p); !slices.Equal(got, []string{"A", "V"}) {
		t.Fatalf("cat receives %v of ann's tracks A and V", got)
	}
}

// backupRoom joins room x: "any", a subscriber that decodes every codec
// (with moreVideo), "vp8", one that declares only VP8 and Opus, and "pub",
// a remote publisher the caller closes.
func backupRoom(t *testing.T, s *SFU, moreVideo ...string) (all, vp8 *peer, pub *Participant) {
	t.Helper()
	all = join(t, s, "x", "any", sfutest.Options{Subscribe: true, MoreVideo: moreVideo})
	vp8 = joinWith(t, s, "x", "vp8", sfutest.Options{Subscribe: true}, func(pp *ParticipantParams) { pp.Codecs = []string{"VP8", "opus"} })
	pub, err := s.Join("x", "", ParticipantParams{ID: "pub", CanPublish: true, Remote: true})
	if err != nil {
		t.Fatal(err)
	}
	return all, vp8, pub
}

// video is a video codec capability at the 90 kHz clock.
func video(mime string) webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}
}
