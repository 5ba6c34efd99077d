package sfu

import "testing"

func TestCacheMissing(t *testing.T) {
	c := newPacketCache(64)
	if a, s := c.missing(); a != 0 || s != 0 {
		t.Fatalf("empty: %d of %d", a, s)
	}
	for ext := uint64(1000); ext < 1100; ext++ {
		if ext%10 == 0 {
			continue // every tenth lost
		}
		c.put(ext, []byte{1})
	}
	// The newest 64 (1036..1099) miss 1040, 1050, ..., 1090.
	if a, s := c.missing(); a != 6 || s != 64 {
		t.Fatalf("got %d of %d missing, want 6 of 64", a, s)
	}
	// A layer that began recently has not filled the cache: the span
	// starts at its first packet.
	c = newPacketCache(512)
	for ext := uint64(70_000); ext < 70_100; ext++ {
		if ext != 70_050 {
			c.put(ext, []byte{1})
		}
	}
	if a, s := c.missing(); a != 1 || s != 100 {
		t.Fatalf("young layer: %d of %d missing, want 1 of 100", a, s)
	}
}

func TestDecisionReason(t *testing.T) {
	bitrates := []int{150_000, 1_500_000}
	cases := []struct {
		name string
		l    int
		t    allocTrack
		want string
	}{
		{"down for bandwidth", 0, allocTrack{maxLayer: 1, bitrates: bitrates, current: 1}, "bandwidth"},
		{"the large layer is not arriving", 0, allocTrack{maxLayer: 1, bitrates: []int{150_000, 0}, current: 1}, "unavailable"},
		{"view asks for less", 0, allocTrack{maxLayer: 0, bitrates: bitrates, current: 1}, "preference"},
		{"view asks for more", 1, allocTrack{maxLayer: 1, bitrates: bitrates, current: 0}, "preference"},
		{"paused for bandwidth", -1, allocTrack{maxLayer: 1, bitrates: bitrates, current: 0}, "bandwidth"},
	}
	for _, c := range cases {
		if got := decisionReason(c.l, c.t); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
