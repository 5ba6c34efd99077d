package sfu

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// upstreamLog records what a receiver asks of its publisher.
type upstreamLog struct {
	mu     sync.Mutex
	wanted [][]bool
}

func (u *upstreamLog) RequestKeyframe(int) {}

func (u *upstreamLog) SetLayersWanted(w []bool) {
	u.mu.Lock()
	u.wanted = append(u.wanted, slices.Clone(w))
	u.mu.Unlock()
}

func (u *upstreamLog) take() [][]bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	w := u.wanted
	u.wanted = nil
	return w
}

// roomSim plays the room loop by hand for one simulcast track (s, l) and
// some subscribers, in virtual time: packets, layer selection with a given
// budget, then dynacast, every 200 ms tick.
type roomSim struct {
	t     *testing.T
	r     *Receiver
	up    *upstreamLog
	downs []*DownTrack
	prefs []int // each subscriber's preferred layer
	now   time.Time
	seq   [2]uint16
	pic   uint16
}

func newRoomSim(t *testing.T, prefs ...int) *roomSim {
	now := time.Unix(1000, 0)
	up := &upstreamLog{}
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, Layers: []string{"s", "l"}, Upstream: up}, 64, now)
	sim := &roomSim{t: t, r: r, up: up, prefs: prefs, now: now}
	for i := range prefs {
		d := newDownTrack(r, nil)
		if _, err := d.Bind(&nullBinding{fakeBinding{ssrc: webrtc.SSRC(i + 1), codecs: []webrtc.RTPCodecParameters{
			{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}}}}); err != nil {
			t.Fatal(err)
		}
		r.addDown(d)
		sim.downs = append(sim.downs, d)
	}
	return sim
}

// send writes one frame (a key frame) on each of the given layers.
func (sim *roomSim) send(layers ...int) {
	for _, l := range layers {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: sim.seq[l], Timestamp: uint32(sim.pic) * 3000, Marker: true},
			Payload: vp8Payload(true, true, sim.pic, 0, 200+800*l)}
		sim.seq[l]++
		if err := sim.r.WriteRTP(l, marshal(sim.t, p), sim.now); err != nil {
			sim.t.Fatal(err)
		}
	}
	sim.pic++
}

// run advances d in 40 ms frames with sendLayers arriving, and a 200 ms
// tick selecting with budget (congested or not) and running dynacast.
func (sim *roomSim) run(d time.Duration, budget int, congested bool, sendLayers ...int) {
	for end := sim.now.Add(d); sim.now.Before(end); {
		for range 5 {
			sim.now = sim.now.Add(40 * time.Millisecond)
			sim.send(sendLayers...)
		}
		for i, dt := range sim.downs {
			dt.setAsked(sim.prefs[i], sim.now)
			dt.mu.Lock()
			cur, hold := dt.decided, dt.hold
			dt.mu.Unlock()
			tr := []allocTrack{{maxLayer: sim.prefs[i], bitrates: sim.r.layerBitrates(sim.now), current: cur, main: sim.prefs[i] > 0, hold: hold}}
			l := selectLayers(budget, congested, tr, sim.now, defaultSelectorParams)[0]
			dt.setDecision(l, l < sim.prefs[i], "", sim.now)
		}
		sim.r.tick(sim.now, time.Second)
	}
}

func (sim *roomSim) decisions() []int {
	var out []int
	for _, d := range sim.downs {
		d.mu.Lock()
		out = append(out, d.decided)
		d.mu.Unlock()
	}
	return out
}

// TestDynacastSurvivesStall: the whole track stops arriving for seconds (the
// publisher's network, or the node starved of CPU at a high load average).
// That says nothing about any one layer: subscribers keep their layers,
// dynacast pauses nothing they watch, and nothing is marked failed, so the
// stream resumes where it was.
func TestDynacastSurvivesStall(t *testing.T) {
	sim := newRoomSim(t, 1, 0) // one main view, one thumbnail
	sim.run(2*time.Second, 5e6, false, 0, 1)
	if got := sim.decisions(); !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("decisions %v before the stall", got)
	}
	sim.up.take()
	sim.run(8*time.Second, 5e6, false) // nothing arrives
	if got := sim.decisions(); !slices.Equal(got, []int{1, 0}) {
		t.Errorf("decisions %v after a stall, want [1 0]", got)
	}
	if w := sim.up.take(); len(w) != 0 {
		t.Errorf("dynacast during a stall: %v", w)
	}
	sim.run(time.Second, 5e6, false, 0, 1)
	if got := sim.r.layerBitrates(sim.now); got[0] <= 0 || got[1] <= 0 {
		t.Errorf("layer costs %v after the stall: a layer was marked failed", got)
	}
}

// TestDynacastKeepsSmallestForStarvedSubscribers: when every subscriber's
// estimate is too low even for the small layer, the selector pauses them
// (thumbnails here: main views keep their smallest layer), but dynacast
// keeps the small layer running at the publisher, so that the subscribers
// resume as soon as their estimate allows.
func TestDynacastKeepsSmallestForStarvedSubscribers(t *testing.T) {
	sim := newRoomSim(t, 0, 0)
	sim.run(2*time.Second, 5e6, false, 0, 1)
	sim.up.take()
	sim.run(5*time.Second, 20_000, true, 0, 1)
	if got := sim.decisions(); !slices.Equal(got, []int{-1, -1}) {
		t.Fatalf("decisions %v under a 20 kbit/s estimate, want paused", got)
	}
	for _, w := range sim.up.take() {
		if !w[0] {
			t.Fatalf("dynacast paused the small layer (%v) that paused subscribers resume on", w)
		}
	}
	sim.r.mu.Lock()
	paused := sim.r.layers[0].paused
	sim.r.mu.Unlock()
	if paused {
		t.Fatal("the small layer is paused")
	}
	sim.run(time.Second, 5e6, false, 0)
	if got := sim.decisions(); got[0] < 0 || got[1] < 0 {
		t.Fatalf("decisions %v once the estimate recovered", got)
	}
}

// TestDynacastLayerDroppedByPublisher: the publisher stops sending the large
// layer while the small one arrives (its encoder dropped it: its uplink
// estimate cannot carry it now). Subscribers fall back to small and the
// selector does not offer large for the back-off; but dynacast keeps the
// layer active, since subscribers ask for it, so the publisher sends it
// again as soon as it can, and it is offered again as soon as it comes.
func TestDynacastLayerDroppedByPublisher(t *testing.T) {
	sim := newRoomSim(t, 1)
	sim.run(4*time.Second, 5e6, false, 0, 1)
	sim.up.take()
	sim.run(6*time.Second, 5e6, false, 0)
	if got := sim.decisions(); !slices.Equal(got, []int{0}) {
		t.Fatalf("decisions %v with the large layer gone, want [0]", got)
	}
	for _, w := range sim.up.take() {
		if !w[1] {
			t.Fatalf("dynacast %v paused the large layer that the subscriber asks for", w)
		}
	}
	if got := sim.r.layerBitrates(sim.now); got[1] != 0 {
		t.Fatalf("layer costs %v: the dropped layer is offered again at once", got)
	}
	sim.run(2*time.Second, 5e6, false, 0, 1) // the publisher sends it again
	if got := sim.decisions(); !slices.Equal(got, []int{1}) {
		t.Fatalf("decisions %v after the large layer came back, want [1]", got)
	}
}

// TestDynacastRemoteLayerReturns: a trunk carries only the layers the
// receiver wants. A layer that stopped on the trunk (an outage) stays
// wanted while subscribers ask for it, so it comes back with the trunk and
// far subscribers get the large layer again within seconds; the same holds
// for a browser publisher's layer.
func TestDynacastRemoteLayerReturns(t *testing.T) {
	for _, remote := range []bool{true, false} {
		sim := newRoomSim(t, 1)
		sim.r.owner.remote = remote
		sim.run(4*time.Second, 5e6, false, 0, 1)
		sim.run(6*time.Second, 5e6, false, 0) // the large layer stops arriving
		// The upstream is back, and sends what the receiver wants.
		wanted := []bool{true, true}
		for range 15 { // 3 s in 200 ms ticks
			if w := sim.up.take(); len(w) > 0 {
				wanted = w[len(w)-1]
			}
			layers := []int{0}
			if wanted[1] {
				layers = append(layers, 1)
			}
			sim.run(200*time.Millisecond, 5e6, false, layers...)
		}
		if got := sim.decisions(); !slices.Equal(got, []int{1}) {
			t.Fatalf("remote=%v: decisions %v 3 s after the upstream recovered, want [1]", remote, got)
		}
	}
}

// lastWanted is the receiver's wanted set as dynacast last told the
// upstream, or nil when it said nothing since the last take.
func (sim *roomSim) lastWanted() []bool {
	w := sim.up.take()
	if len(w) == 0 {
		return nil
	}
	return w[len(w)-1]
}

// TestDynacastResumesWhenPreferred: a layer paused because nobody watched
// it resumes at the publisher on the very tick a subscriber's preference
// asks for it, and the subscriber switches to it as soon as it arrives.
// It does not wait for the estimate to grow past the layer's nominal cost
// first: here the estimate (1 Mbit/s) covers what the layer measured
// (~200 kbit/s) but not its nominal 1.5 Mbit/s, which is all a paused layer
// can be judged by. Before, the layer stayed paused for good.
func TestDynacastResumesWhenPreferred(t *testing.T) {
	sim := newRoomSim(t, 0) // a thumbnail
	sim.run(3*time.Second, 1e6, false, 0, 1)
	if w := sim.lastWanted(); !slices.Equal(w, []bool{true, false}) {
		t.Fatalf("dynacast %v with nobody on the large layer, want it paused", w)
	}
	sim.run(2*time.Second, 1e6, false, 0) // the publisher stopped it
	sim.prefs[0] = 1                      // prefer(x, 'large')
	sim.run(200*time.Millisecond, 1e6, false, 0)
	if w := sim.lastWanted(); !slices.Equal(w, []bool{true, true}) {
		t.Fatalf("dynacast %v one tick after the preference rose, want the large layer resumed", w)
	}
	sim.run(2*time.Second, 1e6, false, 0, 1) // the encoder is back
	if got := sim.decisions(); !slices.Equal(got, []int{1}) {
		t.Fatalf("decisions %v a second after the large layer resumed, want [1]", got)
	}
}

// TestDynacastKeepsPreferredLayerUnderLowEstimate: a subscriber whose
// estimate holds it on the small layer still asks for large; dynacast keeps
// large running, so when the estimate recovers the upgrade is immediate.
func TestDynacastKeepsPreferredLayerUnderLowEstimate(t *testing.T) {
	sim := newRoomSim(t, 1)
	sim.run(2*time.Second, 5e6, false, 0, 1)
	sim.up.take()
	sim.run(5*time.Second, 120_000, true, 0, 1) // congested: only small fits
	if got := sim.decisions(); !slices.Equal(got, []int{0}) {
		t.Fatalf("decisions %v under a 120 kbit/s estimate, want [0]", got)
	}
	for _, w := range sim.up.take() {
		if !w[1] {
			t.Fatalf("dynacast paused the large layer the subscriber prefers (%v)", w)
		}
	}
	sim.run(3*time.Second, 5e6, false, 0, 1) // the hold passes, the estimate is back
	if got := sim.decisions(); !slices.Equal(got, []int{1}) {
		t.Fatalf("decisions %v once the estimate recovered, want [1]", got)
	}
}

// TestDynacastRetriesFailedLayerWhenPreferred: a layer the publisher
// dropped is backed off for layerFailBackoff, but a subscriber raising its
// preference to it (a person making the tile big) retries it at once.
func TestDynacastRetriesFailedLayerWhenPreferred(t *testing.T) {
	sim := newRoomSim(t, 1)
	sim.run(4*time.Second, 5e6, false, 0, 1)
	sim.run(6*time.Second, 5e6, false, 0) // the large layer stops arriving
	if got := sim.r.layerBitrates(sim.now); got[1] != 0 {
		t.Fatalf("layer costs %v: the dropped layer is not backed off", got)
	}
	sim.prefs[0] = 0 // a thumbnail now: large is unwatched and paused
	sim.run(2*time.Second, 5e6, false, 0)
	if w := sim.lastWanted(); !slices.Equal(w, []bool{true, false}) {
		t.Fatalf("dynacast %v with nobody asking for the large layer, want it paused", w)
	}
	sim.prefs[0] = 1 // prefer(x, 'large'), long before the back-off ends
	sim.run(200*time.Millisecond, 5e6, false, 0)
	if w := sim.lastWanted(); !slices.Equal(w, []bool{true, true}) {
		t.Fatalf("dynacast %v after the preference rose, want the failed layer retried", w)
	}
	sim.run(time.Second, 5e6, false, 0, 1)
	if got := sim.decisions(); !slices.Equal(got, []int{1}) {
		t.Fatalf("decisions %v after the retried layer came, want [1]", got)
	}
}
