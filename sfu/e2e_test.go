package sfu

import (
	"strings"
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu/sfutest"
)

// TestSimulcastEndToEnd runs a pion publisher (simulcast VP8 s+l, Opus in
// RED with a loud audio level) and two pion subscribers (one without RED)
// through the SFU, and checks layer selection, a switch on preference with
// a continuous stream, RED kept and stripped, speakers and dynacast.
func TestSimulcastEndToEnd(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	pub := join(t, s, "r1", "alice", sfutest.Options{Layers: []string{"s", "l"}, Audio: true, RED: true, AudioLevel: 10})
	sub := join(t, s, "r1", "bob", sfutest.Options{Subscribe: true})
	plain := join(t, s, "r1", "carol", sfutest.Options{Subscribe: true, NoRED: true})

	st := sub.waitRecv("large video and audio", func(st map[string]sfutest.TrackStats) bool {
		v, okv := trackOf(st, "video")
		a, oka := trackOf(st, "audio")
		return okv && oka && v.Layers[1] > 30 && a.Packets > 20
	})
	if a, _ := trackOf(st, "audio"); !strings.EqualFold(a.Mime, "audio/red") {
		t.Errorf("RED-capable subscriber got %s", a.Mime)
	}
	sub.waitEvent("layer large", func(e Event) bool { l, ok := e.(LayerChanged); return ok && l.Layer == "large" })
	pst := plain.waitRecv("opus", func(st map[string]sfutest.TrackStats) bool {
		a, ok := trackOf(st, "audio")
		return ok && a.Packets > 20
	})
	if a, _ := trackOf(pst, "audio"); !strings.EqualFold(a.Mime, "audio/opus") {
		t.Errorf("subscriber without RED got %s", a.Mime)
	}
	for _, tr := range s.Snapshot()[0].Participants[0].Tracks {
		if tr.Kind == "audio" && (!strings.EqualFold(tr.Codec, "audio/red") || tr.PayloadType != 63) {
			t.Errorf("the node receives audio as %s with payload type %d, want audio/red, 63", tr.Codec, tr.PayloadType)
		}
		if tr.Kind == "video" && (len(tr.Layers) != 2 || tr.Layers[0].Packets == 0 || tr.Layers[1].Packets == 0) {
			t.Errorf("video snapshot %+v", tr)
		}
	}
	sub.waitEvent("speaker alice", func(e Event) bool {
		sp, ok := e.(Speakers)
		return ok && len(sp.ParticipantIDs) > 0 && sp.ParticipantIDs[0] == "alice"
	})

	// Both subscribers go to thumbnails: the large layer is unwatched, and
	// dynacast pauses it at the publisher.
	sub.p.Prefer("alice", QualitySmall)
	plain.p.Prefer("alice", QualitySmall)
	sub.waitEvent("layer small", func(e Event) bool { l, ok := e.(LayerChanged); return ok && l.Layer == "small" })
	before := sub.c.Received()
	vb, _ := trackOf(before, "video")
	sub.waitRecv("small layer", func(st map[string]sfutest.TrackStats) bool {
		v, _ := trackOf(st, "video")
		return v.Layers[0] > vb.Layers[0]+30
	})
	pub.waitEvent("dynacast pause of l", func(e Event) bool {
		pl, ok := e.(PublishLayers)
		return ok && len(pl.Layers) == 1 && pl.Layers[0] == "s"
	})

	// Back to the main view: l is resumed and switched to.
	pub.clearEvents()
	sub.p.Prefer("alice", QualityLarge)
	pub.waitEvent("dynacast resume of l", func(e Event) bool { pl, ok := e.(PublishLayers); return ok && len(pl.Layers) == 2 })
	mid := sub.c.Received()
	vm, _ := trackOf(mid, "video")
	st = sub.waitRecv("large again", func(st map[string]sfutest.TrackStats) bool {
		v, _ := trackOf(st, "video")
		return v.Layers[1] > vm.Layers[1]+30
	})
	v, _ := trackOf(st, "video")
	if v.SeqGaps != 0 || v.PicGaps != 0 || v.TSBack != 0 {
		t.Errorf("stream not continuous across switches: %d seq gaps, %d picture gaps, %d timestamps back", v.SeqGaps, v.PicGaps, v.TSBack)
	}
	if len(v.SSRCs) != 1 {
		t.Errorf("subscriber saw %d SSRCs, want one", len(v.SSRCs))
	}
	if v.Switches < 2 {
		t.Errorf("%d layer switches seen, want at least 2", v.Switches)
	}
	stats := s.Stats()
	if stats.Rooms != 1 || stats.Participants != 3 || stats.Tracks != 2 || stats.LayerSwitches < 2 || stats.PLIs == 0 || stats.BytesForwarded == 0 {
		t.Errorf("stats %+v", stats)
	}
	_ = time.Second
}

// TestFlexFECToSubscribers: a subscriber that negotiates flexfec-03 gets
// repair packets (about one per FlexFECMedia media packets); one that does
// not gets none.
func TestFlexFECToSubscribers(t *testing.T) {
	s := newTestSFU(t, nil)
	defer s.Close()
	join(t, s, "f", "alice", sfutest.Options{Layers: []string{"s", "l"}})
	plain := join(t, s, "f", "plain", sfutest.Options{Subscribe: true})
	plain.waitRecv("video", func(st map[string]sfutest.TrackStats) bool {
		v, ok := trackOf(st, "video")
		return ok && v.Packets > 100
	})
	if n := s.Stats().FECPackets; n != 0 {
		t.Fatalf("%d FEC packets to a subscriber without FlexFEC", n)
	}
	fec := join(t, s, "f", "fec", sfutest.Options{Subscribe: true, FlexFEC: true})
	st := fec.waitRecv("video", func(st map[string]sfutest.TrackStats) bool {
		v, ok := trackOf(st, "video")
		return ok && v.Packets > 100
	})
	v, _ := trackOf(st, "video")
	if n := s.Stats().FECPackets; n < uint64(v.Packets)/20 {
		t.Fatalf("%d FEC packets for %d media packets", n, v.Packets)
	}
}

// TestVanishedParticipantsAreRemoved: a publisher that drops off the
// network without a word, and a subscriber that closes its connection, are
// removed once ICE gives up; the others are told.
func TestVanishedParticipantsAreRemoved(t *testing.T) {
	s := newTestSFU(t, func(c *Config) {
		c.ICEDisconnectedTimeout, c.ICEFailedTimeout = 500*time.Millisecond, time.Second
	})
	defer s.Close()
	pub := join(t, s, "v", "alice", sfutest.Options{Layers: []string{"s", "l"}, Audio: true})
	sub := join(t, s, "v", "bob", sfutest.Options{Subscribe: true})
	other := join(t, s, "v", "carol", sfutest.Options{Subscribe: true})
	sub.waitRecv("video", func(st map[string]sfutest.TrackStats) bool {
		v, ok := trackOf(st, "video")
		return ok && v.Packets > 20
	})

	pub.c.Vanish()
	pub.waitEvent("closed for a failed connection", func(e Event) bool { c, ok := e.(Closed); return ok && c.Reason == ErrConnectionFailed })
	other.waitEvent("alice left", func(e Event) bool { l, ok := e.(ParticipantLeft); return ok && l.ParticipantID == "alice" })

	sub.closeClient() // DTLS close_notify, then silence
	other.waitEvent("bob left", func(e Event) bool { l, ok := e.(ParticipantLeft); return ok && l.ParticipantID == "bob" })
	if st := s.Stats(); st.Participants != 1 || st.Tracks != 0 || st.DownTracks != 0 {
		t.Fatalf("left behind: %+v", st)
	}
}
