package trunk

import (
	"slices"
	"testing"
	"time"

	"github.com/qrtn/qrtn/trunk/route"
)

func TestReorder(t *testing.T) {
	now := time.Unix(1000, 0)
	var r reorder
	var out []uint16
	emit := func(b []byte) { out = append(out, uint16(b[0])<<8|uint16(b[1])) }
	push := func(seq uint16) { r.push(now, seq, []byte{byte(seq >> 8), byte(seq)}, emit) }
	hold := 100 * time.Millisecond

	push(65534)
	push(65535)
	push(1) // 0 is late: held
	push(2)
	if !slices.Equal(out, []uint16{65534, 65535}) {
		t.Fatalf("released %v before the repair", out)
	}
	now = now.Add(50 * time.Millisecond)
	if at := r.expire(now, hold, emit); !at.Equal(now.Add(50 * time.Millisecond)) {
		t.Fatalf("next expiry %v", at)
	}
	push(0) // the repair: everything goes, in order
	if !slices.Equal(out, []uint16{65534, 65535, 0, 1, 2}) {
		t.Fatalf("released %v", out)
	}

	// A gap that never fills is skipped after hold.
	out = nil
	push(4)
	push(6)
	now = now.Add(hold)
	if at := r.expire(now, hold, emit); !at.IsZero() {
		t.Fatalf("still holding after skipping: %v", at)
	}
	if !slices.Equal(out, []uint16{4, 6}) {
		t.Fatalf("released %v, want [4 6] after skipping 3 and 5", out)
	}
	// The late repair of a skipped packet still goes to the SFU (its cache).
	out = nil
	push(3)
	push(7)
	if !slices.Equal(out, []uint16{3, 7}) {
		t.Fatalf("released %v", out)
	}
	// A far jump is a new stream: flush and follow it.
	out = nil
	push(9)
	push(3000)
	if !slices.Equal(out, []uint16{9, 3000}) {
		t.Fatalf("released %v", out)
	}
}

// TestHoldFor: a gap waits as long as FEC needs along the path (each hop's
// Latency) in meeting rooms and for audio; live video also waits for a
// retransmission on each hop, bounded by a hop's deadline.
func TestHoldFor(t *testing.T) {
	now := time.Unix(1000, 0)
	tr := &Core{cfg: Config{Scenarios: defaultScenarios()}, ls: newLSDB(time.Minute)}
	for _, ls := range []LinkState{
		{Origin: "a", Seq: 1, Links: []LinkMetric{{Peer: "f", Up: true, RTTMicros: 100_000}}},
		{Origin: "f", Seq: 1, Links: []LinkMetric{{Peer: "b", Up: true, RTTMicros: 100_000}}},
	} {
		tr.ls.update(now, ls)
	}
	path := []string{"a", "f", "b"}
	cases := []struct {
		mode route.Mode
		kind string
		want time.Duration
	}{
		{route.Meeting, "video", 2*30*time.Millisecond + reorderSlack},
		{route.Meeting, "audio", 2*30*time.Millisecond + reorderSlack},
		{route.Live, "audio", 2*30*time.Millisecond + reorderSlack},
		// min(hopDeadline(800 ms, 100 ms), 1.5 × 200 ms + 20 ms)
		{route.Live, "video", 320 * time.Millisecond},
	}
	for _, c := range cases {
		if got := tr.holdFor(&flow{mode: c.mode, kind: c.kind, path: path}); got != c.want {
			t.Errorf("%s %s: hold %v, want %v", c.mode, c.kind, got, c.want)
		}
	}
}
