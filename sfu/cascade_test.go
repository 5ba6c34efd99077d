package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu/sfutest"
)

// relay is what a trunk does for one track, in miniature: it injects a
// track of SFU A into SFU B as a local publisher (a Receiver fed by code),
// carries the layers B wants through Sinks on A's receiver, and passes B's
// key frame requests back to A.
type relay struct {
	t     *testing.T
	from  *Receiver // on A
	into  *Receiver // on B
	owner *Participant

	mu    sync.Mutex
	sinks map[int]func()
	asked [][]bool // every SetLayersWanted from B
}

func (rl *relay) RequestKeyframe(layer int) { rl.from.RequestKeyframe(layer) }

func (rl *relay) SetLayersWanted(w []bool) {
	rl.mu.Lock()
	rl.asked = append(rl.asked, append([]bool(nil), w...))
	rl.mu.Unlock()
	for i, want := range w {
		rl.setSink(i, want)
	}
}

func (rl *relay) setSink(layer int, on bool) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if stop, ok := rl.sinks[layer]; ok && !on {
		stop()
		delete(rl.sinks, layer)
	} else if !ok && on {
		stop, err := rl.from.AddSink(layer, relaySink{rl})
		if err != nil {
			rl.t.Errorf("add sink: %v", err)
			return
		}
		rl.sinks[layer] = stop
	}
}

type relaySink struct{ rl *relay }

func (s relaySink) WriteRTP(layer int, raw []byte) {
	if into := s.rl.into; into != nil {
		_ = into.WriteRTP(layer, raw, time.Now())
	}
}

func (s relaySink) TrackEnded() { s.rl.owner.UnpublishTrack(s.rl.into) }

// TestCascadeSeam relays a browser-published simulcast track from one SFU
// to another through the trunk seam, and checks that a subscriber on the
// second SFU gets a continuous stream, can switch layers, and that its
// dynacast reaches the original publisher.
func TestCascadeSeam(t *testing.T) {
	a := newTestSFU(t, nil)
	defer a.Close()
	b := newTestSFU(t, nil)
	defer b.Close()

	alice := join(t, a, "r", "alice", sfutest.Options{Layers: []string{"s", "l"}, Audio: true, AudioLevel: 5})
	var tracks []*Receiver
	deadline := time.Now().Add(10 * time.Second)
	for len(tracks) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		tracks = alice.p.Tracks()
	}
	if len(tracks) < 2 {
		t.Fatalf("alice published %d tracks", len(tracks))
	}

	ghost, err := b.Join("r", "", ParticipantParams{ID: "alice", CanPublish: true, Remote: true})
	if err != nil {
		t.Fatal(err)
	}
	bob := join(t, b, "r", "bob", sfutest.Options{Subscribe: true})
	var video *relay
	for _, src := range tracks {
		rl := &relay{t: t, from: src, owner: ghost, sinks: map[int]func(){}}
		rl.into, err = ghost.PublishTrack(TrackParams{ID: src.ID(), Kind: src.Kind(), Codec: src.Codec(),
			Layers: src.Info().Layers, AudioLevelExt: src.AudioLevelExt(), Upstream: rl})
		if err != nil {
			t.Fatal(err)
		}
		for i := range src.Layers() {
			rl.setSink(i, true) // a new receiver starts with every layer wanted
		}
		if src.Kind().String() == "video" {
			video = rl
		}
	}

	bob.waitRecv("relayed large video and audio", func(st map[string]sfutest.TrackStats) bool {
		v, okv := trackOf(st, "video")
		a, oka := trackOf(st, "audio")
		return okv && oka && v.Layers[1] > 20 && a.Packets > 20 && v.Participant == "alice"
	})
	bob.waitEvent("alice speaking across the cascade", func(e Event) bool {
		sp, ok := e.(Speakers)
		return ok && len(sp.ParticipantIDs) == 1 && sp.ParticipantIDs[0] == "alice"
	})
	bob.p.Prefer("alice", QualitySmall)
	// B stops wanting l, the relay drops its sink, A stops wanting it, and
	// alice is told to stop encoding it.
	alice.waitEvent("dynacast through the relay", func(e Event) bool {
		pl, ok := e.(PublishLayers)
		return ok && len(pl.Layers) == 1 && pl.Layers[0] == "s"
	})
	st := bob.waitRecv("relayed small video", func(st map[string]sfutest.TrackStats) bool {
		v, _ := trackOf(st, "video")
		return v.LastLayer == 0 && v.Layers[0] > 20
	})
	v, _ := trackOf(st, "video")
	if v.SeqGaps != 0 || v.PicGaps != 0 || v.TSBack != 0 {
		t.Errorf("relayed stream not continuous: %+v", v)
	}
	video.mu.Lock()
	asked := len(video.asked)
	video.mu.Unlock()
	if asked == 0 {
		t.Error("B never told the relay which layers it wants")
	}

	// Alice leaves A: the sinks end the relayed tracks on B.
	alice.close()
	bob.waitEvent("relayed track unpublished", func(e Event) bool { _, ok := e.(TrackUnpublished); return ok })
	ghost.Close()
}
