package trunk

import "testing"

func TestFECUnit(t *testing.T) {
	type pkt struct {
		seq    uint16
		marker bool
		more   bool
	}
	cases := map[string]struct {
		video bool
		pkts  []pkt
	}{
		"frame in order": {true, []pkt{{10, false, true}, {11, false, true}, {12, true, false}, {13, false, true}, {14, true, false}}},
		"audio":          {false, []pkt{{1, true, false}, {2, false, false}, {4, false, false}, {3, false, false}}},
		// 12 was lost upstream and rebuilt after the frame's marker: the
		// group stays open for it and closes with it.
		"rebuilt after the marker": {true, []pkt{{10, false, true}, {11, false, true}, {13, false, true}, {14, true, true}, {12, false, false}, {15, false, true}}},
		// Two missing: the first late one keeps the group open.
		"two rebuilt": {true, []pkt{{10, false, true}, {12, false, true}, {14, true, true}, {13, false, true}, {11, false, false}}},
		// 12 never comes: the next frame gives up on it, and its own
		// marker seals.
		"expired upstream": {true, []pkt{{10, false, true}, {11, false, true}, {13, true, true}, {14, false, true}, {15, true, false}}},
		// Rebuilt before the marker: the frame goes on.
		"rebuilt mid-frame": {true, []pkt{{10, false, true}, {12, false, true}, {11, false, true}, {13, true, false}}},
		// A retransmission long after its frame, between frames: alone.
		"late between frames": {true, []pkt{{10, false, true}, {11, true, false}, {9, false, false}, {12, false, true}}},
		// A jump beyond maxSkip is a new stream, not packets to wait for.
		"jump": {true, []pkt{{10, true, false}, {1000, true, false}}},
	}
	for name, c := range cases {
		var u fecUnit
		for i, p := range c.pkts {
			if got := u.more(p.seq, p.marker, c.video); got != p.more {
				t.Errorf("%s: packet %d (seq %d): more=%v, want %v", name, i, p.seq, got, p.more)
			}
		}
	}
}
