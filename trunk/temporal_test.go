package trunk

import (
	"slices"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/trunk/route"
)

// TestTemporalDemand: a node asks its upstream, per layer, for the
// highest temporal layer any downstream peer or its local side wants; a
// peer that says nothing (an older one) wants every one, and a
// subscription that wants every temporal layer of every layer carries no
// TL, as before protocol version 3.
func TestTemporalDemand(t *testing.T) {
	kp, _ := handshake.GenerateKeyPair(nil)
	now := time.Unix(1000, 0)
	c, err := NewCore(now, Config{Name: "x", Role: route.Forwarding, Key: &kp}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := TrackRef{Origin: "o", Room: "r", ID: "v"}
	for _, name := range []string{"y", "z"} {
		p := &peer{info: peerInfo{Name: name}}
		p.reset()
		p.up = true
		c.peers = append(c.peers, p)
		c.byName[name] = p
	}
	asked := func() []int {
		t.Helper()
		c.flows.apply(now, c.demand(), c.describe)
		for _, f := range c.flows.sorted() {
			f.up = "o"
		}
		s, ok := c.flows.subscriptions()["o"][ref]
		if !ok {
			t.Fatal("nothing asked of the upstream")
		}
		return s.TL
	}
	c.byName["y"].recvSubs[ref] = Subscribe{Track: ref, Layers: 0b110, TL: []int{7, 0, 1}}
	c.byName["z"].recvSubs[ref] = Subscribe{Track: ref, Layers: 0b010, TL: []int{7, 1}}
	if tl := asked(); !slices.Equal(tl, []int{7, 1, 1}) {
		t.Errorf("y wants TL 0 of layer 1 and 1 of layer 2, z 1 of layer 1: asked %v, want [7 1 1]", tl)
	}
	c.byName["z"].recvSubs[ref] = Subscribe{Track: ref, Layers: 0b010} // an older peer
	if tl := asked(); !slices.Equal(tl, []int{7, 7, 1}) {
		t.Errorf("z says nothing: asked %v, want [7 7 1]", tl)
	}
	delete(c.byName["z"].recvSubs, ref)
	c.local = nopLocal{}
	c.Want(now, ref, 0b001)
	c.WantTemporal(now, ref, []int{2})
	if tl := asked(); !slices.Equal(tl, []int{2, 0, 1}) {
		t.Errorf("local TL 2 of layer 0, y's: asked %v, want [2 0 1]", tl)
	}
	c.WantTemporal(now, ref, []int{7, 7, 7})
	c.byName["y"].recvSubs[ref] = Subscribe{Track: ref, Layers: 0b110, TL: []int{7, 7, 9}}
	if tl := asked(); tl != nil {
		t.Errorf("everything wanted: asked %v, want no TL", tl)
	}
}

// TestWithTL: the TL lists built and normalised.
func TestWithTL(t *testing.T) {
	for _, c := range []struct {
		tl   []int
		l, t int
		want []int
	}{
		{nil, 2, allTL, nil},
		{nil, 1, 0, []int{7, 0}},
		{[]int{7, 0}, 1, -1, nil},
		{[]int{3}, 2, 9, []int{3}},
		{[]int{3}, 2, 1, []int{3, 7, 1}},
	} {
		if got := withTL(slices.Clone(c.tl), c.l, c.t); !slices.Equal(got, c.want) {
			t.Errorf("withTL(%v, %d, %d) = %v, want %v", c.tl, c.l, c.t, got, c.want)
		}
	}
	if got := normalTL([]int{-3, 12, 7}); !slices.Equal(got, []int{0, 7, 7}) {
		t.Errorf("normalTL clamps to %v", got)
	}
}

type nopLocal struct{}

func (nopLocal) Deliver(time.Time, TrackRef, int, []byte) {}
func (nopLocal) StartLayer(TrackRef, int) bool            { return false }
func (nopLocal) StopLayer(TrackRef, int)                  {}
func (nopLocal) RequestKeyframe(TrackRef, int)            {}
func (nopLocal) RemoteChanged(string)                     {}

// TestRebaseAfterSwitch: a new upstream whose numbering of the layer is
// far from the old one's (temporal cuts renumber) is shifted to follow
// on, backwards or forwards; one that numbers alike is not shifted, and
// packets both send pass once.
func TestRebaseAfterSwitch(t *testing.T) {
	tab := newFlowTable("x")
	f := &flow{key: flowKey{TrackRef{Origin: "o", Room: "r", ID: "v"}, 0}}
	tab.switchTo(f, "u1", "test")
	admit := func(from string, seq uint16) (uint16, bool) {
		t.Helper()
		return tab.admit(f, from, seq)
	}
	for s := uint16(1000); s < 1010; s++ {
		admit("u1", s)
	}
	// Alike: the overlap passes once, nothing is shifted.
	f.next = "u2"
	if _, ok := admit("u2", 1008); ok {
		t.Error("a packet relayed already passed again from the new upstream")
	}
	if s, ok := admit("u2", 1010); !ok || s != 1010 {
		t.Errorf("the next packet from an upstream numbering alike: %d %v, want 1010", s, ok)
	}
	// Behind by more than the window: shifted to follow on.
	f.next = "u3"
	if s, ok := admit("u3", 400); !ok || s != 1011 {
		t.Errorf("first packet of a new upstream 610 behind: relayed as %d %v, want 1011", s, ok)
	}
	if s, ok := admit("u3", 401); !ok || s != 1012 {
		t.Errorf("its next: %d %v, want 1012", s, ok)
	}
	if _, ok := admit("u2", 1013); ok {
		t.Error("the old upstream's packet passed after the switch")
	}
	// Ahead by more than the window, across the wrap.
	f.next = "u4"
	if s, ok := admit("u4", 1012+40000); !ok || s != 1013 {
		t.Errorf("first packet of a new upstream far ahead: %d %v, want 1013", s, ok)
	}
}
