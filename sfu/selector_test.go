package sfu

import (
	"slices"
	"testing"
	"time"
)

func TestSelectLayers(t *testing.T) {
	now := time.Unix(1000, 0)
	sl := []int{150_000, 1_500_000} // small, large
	three := []int{150_000, 500_000, 1_500_000}
	p := defaultSelectorParams
	tests := []struct {
		name   string
		budget int
		tracks []allocTrack
		want   []int
	}{
		{"plenty, wants large", 5e6, []allocTrack{{maxLayer: 1, bitrates: sl, current: -1, main: true}}, []int{1}},
		{"plenty, wants small", 5e6, []allocTrack{{maxLayer: 0, bitrates: sl, current: -1}}, []int{0}},
		{"only small fits", 1e6, []allocTrack{{maxLayer: 1, bitrates: sl, current: -1, main: true}}, []int{0}},
		{"nothing fits: paused", 100_000, []allocTrack{{maxLayer: 1, bitrates: sl, current: -1, main: true}}, []int{-1}},
		{"hysteresis keeps large just under the up margin", 1_600_000,
			[]allocTrack{{maxLayer: 1, bitrates: sl, current: 1, main: true}}, []int{1}},
		{"hysteresis keeps small just over large", 1_600_000,
			[]allocTrack{{maxLayer: 1, bitrates: sl, current: 0, main: true}}, []int{0}},
		{"drops at once below large", 1_400_000,
			[]allocTrack{{maxLayer: 1, bitrates: sl, current: 1, main: true}}, []int{0}},
		{"recovers up with margin after the hold", 1_900_000,
			[]allocTrack{{maxLayer: 1, bitrates: sl, current: 0, main: true, lastDown: now.Add(-p.upHold - time.Second)}}, []int{1}},
		{"no recovery inside the hold", 1_900_000,
			[]allocTrack{{maxLayer: 1, bitrates: sl, current: 0, main: true, lastDown: now.Add(-time.Second)}}, []int{0}},
		{"main gets large, thumbnail small", 2_200_000, []allocTrack{
			{maxLayer: 0, bitrates: sl, current: -1},
			{maxLayer: 1, bitrates: sl, current: -1, main: true}}, []int{0, 1}},
		{"both smalls before any large", 1_000_000, []allocTrack{
			{maxLayer: 1, bitrates: sl, current: -1, main: true},
			{maxLayer: 1, bitrates: sl, current: -1, main: true}}, []int{0, 0}},
		{"one small only: main kept, thumbnail paused", 200_000, []allocTrack{
			{maxLayer: 0, bitrates: sl, current: 0},
			{maxLayer: 1, bitrates: sl, current: 0, main: true}}, []int{-1, 0}},
		{"unavailable large: small", 5e6, []allocTrack{{maxLayer: 1, bitrates: []int{150_000, 0}, current: -1, main: true}}, []int{0}},
		{"unavailable small: large directly", 5e6, []allocTrack{{maxLayer: 1, bitrates: []int{0, 1_500_000}, current: -1, main: true}}, []int{1}},
		{"three layers, medium fits", 900_000, []allocTrack{{maxLayer: 2, bitrates: three, current: -1, main: true}}, []int{1}},
		{"three layers, medium preference", 5e6, []allocTrack{{maxLayer: 1, bitrates: three, current: -1, main: true}}, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := selectLayers(tc.budget, tc.tracks, now, p); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSelectLayersNoThrashing feeds an estimate oscillating around the large
// layer's bitrate and checks the decision changes rarely, then recovers when
// the estimate settles high.
func TestSelectLayersNoThrashing(t *testing.T) {
	p := defaultSelectorParams
	tr := []allocTrack{{maxLayer: 1, bitrates: []int{150_000, 1_500_000}, current: 1, main: true}}
	now := time.Unix(0, 0)
	changes := 0
	for i := 0; i < 200; i++ { // 20 s at 100 ms ticks
		now = now.Add(100 * time.Millisecond)
		budget := 1_450_000
		if i%2 == 0 {
			budget = 1_700_000
		}
		got := selectLayers(budget, tr, now, p)[0]
		if got != tr[0].current {
			changes++
			if got < tr[0].current {
				tr[0].lastDown = now
			}
			tr[0].current = got
		}
	}
	if changes > 1 {
		t.Fatalf("%d layer changes for an estimate oscillating ±10%% around the large layer", changes)
	}
	for i := 0; i < 100; i++ {
		now = now.Add(100 * time.Millisecond)
		tr[0].current = selectLayers(2_500_000, tr, now, p)[0]
	}
	if tr[0].current != 1 {
		t.Fatal("did not recover to large once bandwidth returned")
	}
}

func TestSpeakerDetector(t *testing.T) {
	d := newSpeakerDetector(defaultSpeakerParams)
	now := time.Unix(0, 0)
	tick := func() ([]string, bool) { now = now.Add(300 * time.Millisecond); return d.tick(now) }
	if got, changed := tick(); changed || len(got) != 0 {
		t.Fatalf("speakers in silence: %v", got)
	}
	var got []string
	for i := 0; i < 3; i++ {
		for k := 0; k < 15; k++ {
			d.observe("loud", 20)
			d.observe("soft", 45)
			d.observe("quiet", 110)
		}
		got, _ = tick()
	}
	if !slices.Equal(got, []string{"loud", "soft"}) {
		t.Fatalf("speakers %v, want loud then soft", got)
	}
	d.observe("loud", 0) // a single packet of a burst must not flip the order
	if _, changed := tick(); !changed {
		t.Fatal("expected a change as the others fall silent")
	}
	for i := 0; i < 10; i++ {
		tick()
	}
	if len(d.last) != 0 {
		t.Fatalf("silence still reports %v", d.last)
	}
	d.remove("loud")
	if _, ok := d.levels["loud"]; ok {
		t.Fatal("remove kept state")
	}
}

func TestSeqUnwrapper(t *testing.T) {
	var u seqUnwrapper
	seqs := []uint16{65534, 65535, 0, 65533, 1, 2}
	want := []uint64{1<<16 | 65534, 1<<16 | 65535, 2 << 16, 1<<16 | 65533, 2<<16 | 1, 2<<16 | 2}
	for i, s := range seqs {
		if got, _ := u.unwrap(s); got != want[i] {
			t.Fatalf("unwrap(%d) = %d, want %d", s, got, want[i])
		}
	}
}

func TestPacketCache(t *testing.T) {
	c := newPacketCache(3) // rounds to 4
	for ext := uint64(10); ext < 16; ext++ {
		c.put(ext, []byte{byte(ext)})
	}
	if _, ok := c.get(11, nil); ok {
		t.Fatal("evicted packet still returned")
	}
	got, ok := c.get(15, nil)
	if !ok || got[0] != 15 {
		t.Fatalf("get(15) = %v %v", got, ok)
	}
	if c.put(1, make([]byte, maxPacketSize+1)) != nil {
		t.Fatal("oversize packet cached")
	}
}
