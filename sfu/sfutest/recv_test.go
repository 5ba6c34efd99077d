package sfutest

import "testing"

// TestOrderCheckTellsLossFromBreaks: lost packets and frames, and late
// packets, are not breaks; a picture ID or timestamp that jumps with no
// loss to explain it is.
func TestOrderCheckTellsLossFromBreaks(t *testing.T) {
	// frame is one VP8 packet: seq, timestamp, picture ID, frame start.
	type pkt struct {
		seq   uint16
		ts    uint32
		pic   uint16
		start bool
	}
	tests := []struct {
		name string
		pkts []pkt
		want int
	}{
		{"continuous", []pkt{{1, 0, 7, true}, {2, 0, 7, false}, {3, 3000, 8, true}, {4, 6000, 9, true}}, 0},
		{"a lost frame", []pkt{{1, 0, 7, true}, {3, 6000, 9, true}}, 0},
		{"a lost frame start", []pkt{{1, 0, 7, true}, {2, 0, 7, false}, {4, 3000, 8, false}, {5, 6000, 9, true}}, 0},
		{"three frames lost in three packets", []pkt{{1, 0, 7, true}, {5, 12000, 11, true}}, 0},
		{"a late packet", []pkt{{1, 0, 7, true}, {3, 6000, 9, true}, {2, 3000, 8, true}, {4, 9000, 10, true}}, 0},
		{"picture wraps", []pkt{{1, 0, 0x7fff, true}, {2, 3000, 0, true}}, 0},
		{"picture jumps without loss", []pkt{{1, 0, 7, true}, {2, 3000, 107, true}}, 1},
		{"more frames skipped than packets lost", []pkt{{1, 0, 7, true}, {3, 3000, 12, true}}, 1},
		{"picture goes back", []pkt{{1, 0, 7, true}, {2, 3000, 6, true}}, 1},
		{"timestamp goes back in order", []pkt{{1, 6000, 7, true}, {2, 3000, 8, true}}, 1},
	}
	for _, tc := range tests {
		var o orderCheck
		breaks := 0
		for _, p := range tc.pkts {
			b0 := byte(0x80)
			if p.start {
				b0 |= 0x10
			}
			v := rtpView{seq: p.seq, ts: p.ts, payload: []byte{b0, 0xe0, 0x80 | byte(p.pic>>8), byte(p.pic), 0, 0x40, 0, 0}}
			breaks += o.packet(&v, true)
		}
		if breaks != tc.want {
			t.Errorf("%s: %d breaks, want %d", tc.name, breaks, tc.want)
		}
	}
}
