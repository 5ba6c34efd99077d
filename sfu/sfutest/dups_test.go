package sfutest

import "testing"

// TestDupWindow: a packet seen before is a duplicate; a late one that
// fills a gap is not, nor is one after a jump or a rollover.
func TestDupWindow(t *testing.T) {
	var w dupWindow
	for _, c := range []struct {
		seq uint16
		dup bool
	}{
		{65530, false}, {65531, false}, {65534, false}, // 65532-3 missing
		{65532, false}, // late: fills the gap
		{65531, true},  // resent though it had arrived
		{65532, true},
		{2, false},     // across the rollover; 65535, 0, 1 missing
		{65535, false}, // late
		{1, false},
		{2, true},
		{65534, true},
		{2000, false}, // a jump past the window forgets it all
		{1000, false}, // late, within the window
		{1999, false}, // late, within the window
		{1999, true},
	} {
		if got := w.seen(c.seq); got != c.dup {
			t.Errorf("seq %d: duplicate %v, want %v", c.seq, got, c.dup)
		}
	}
}
