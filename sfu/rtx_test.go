package sfu

import (
	"testing"

	"github.com/qrtn/qrtn/sfu/sfutest"
)

// TestPublisherRetransmissions: a publisher loses one video packet in 15 and
// answers the node's NACKs with RTX. Browsers mark RTX with repaired-rid, and
// the node forwards the repaired packets. pion's NACK responder copies the
// layer's rid instead, and pion then binds the RTX stream as the layer
// itself: the node must keep each layer on its media SSRC and give such
// retransmissions up. Either way subscribers get one continuous stream per
// layer: one SSRC, no sequence or timestamp jumps beyond reordering, only
// their layer's packets, and it keeps flowing.
func TestPublisherRetransmissions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ridRTX bool
	}{{"repaired-rid", false}, {"rid copied into RTX", true}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ridRTX && raceEnabled {
				// pion's RTPReceiver.readRTP reads a trackStreams' reader
				// after releasing its lock, while receiveForRid replaces it
				// under the lock: rebinding a rid races inside pion itself.
				t.Skip("pion v4.2.20 races when it rebinds a rid to another SSRC; run without -race")
			}
			t.Parallel()
			s := newTestSFU(t, nil)
			defer s.Close()
			join(t, s, "x", "alice", sfutest.Options{Layers: []string{"s", "l"}, Loss: 15, RTXWithRID: tc.ridRTX})
			large := join(t, s, "x", "bob", sfutest.Options{Subscribe: true})
			small := join(t, s, "x", "carol", sfutest.Options{Subscribe: true})
			small.p.Prefer("alice", QualitySmall)
			for _, pr := range []*peer{large, small} {
				pr.waitRecv("video", func(st map[string]sfutest.TrackStats) bool {
					v, ok := trackOf(st, "video")
					return ok && v.Packets > 60
				})
			}
			for _, pr := range []*peer{large, small} {
				before, _ := trackOf(pr.c.Received(), "video")
				pr.waitRecv("more video", func(st map[string]sfutest.TrackStats) bool {
					v, _ := trackOf(st, "video")
					return v.Packets > before.Packets+60
				})
			}
			st := s.Stats()
			if !tc.ridRTX && st.PublisherRTX == 0 {
				t.Error("no retransmission from the publisher was forwarded")
			}
			if tc.ridRTX && st.StrayPackets == 0 {
				t.Error("the RTX stream claiming a layer's rid went unnoticed")
			}
			for layer, pr := range []*peer{small, large} {
				v, _ := trackOf(pr.c.Received(), "video")
				if len(v.SSRCs) != 1 || v.MaxSeqJump > 100 || v.MaxTSBack > 45000 || v.LastLayer != layer || (layer == 0 && v.Layers[1] > 0) {
					t.Errorf("%s: stream mixed up: %d SSRCs, largest sequence step %d, largest timestamp step back %d, layers %v",
						pr.p.ID(), len(v.SSRCs), v.MaxSeqJump, v.MaxTSBack, v.Layers)
				}
			}
			t.Logf("stats %+v", st)
		})
	}
}
