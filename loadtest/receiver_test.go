package loadtest

import (
	"testing"
	"time"
)

var t0 = time.Unix(1000, 0)

// feedFrame delivers a frame of n packets starting at seq, skipping those in drop.
func feedFrame(r *trackRecv, seq uint16, ts uint32, n int, p probe, at time.Time, drop map[uint16]bool) uint16 {
	for i := range n {
		s := seq + uint16(i)
		if drop[s] {
			continue
		}
		r.onPacket(recvPacket{seq: s, ts: ts, marker: i == n-1, frameStart: i == 0, probe: p, hasProbe: i == 0, size: 1000}, at)
	}
	return seq + uint16(n)
}

func TestTrackRecvCountsFramesLatencyAndLoss(t *testing.T) {
	r := newTrackRecv(true, 600*time.Millisecond)
	seq := uint16(65530) // wraps during the test
	for f := range 50 {
		at := t0.Add(time.Duration(f) * 40 * time.Millisecond)
		p := probe{sent: at.Add(-5 * time.Millisecond), frame: uint32(f + 1), layer: 'l'}
		var drop map[uint16]bool
		if f == 10 {
			drop = map[uint16]bool{seq + 1: true} // frame 11 loses a packet and never completes
		}
		seq = feedFrame(r, seq, uint32(f)*3600, 3, p, at, drop)
	}
	if r.frames != 49 {
		t.Errorf("frames = %d, want 49", r.frames)
	}
	if r.missed != 1 {
		t.Errorf("missed = %d, want 1", r.missed)
	}
	if r.expected() != 150 || r.unique != 149 {
		t.Errorf("expected %d unique %d, want 150/149", r.expected(), r.unique)
	}
	if lost, sent := r.windowLoss(); lost != 1 || sent != 150 {
		t.Errorf("window loss %d of %d, want 1 of 150", lost, sent)
	}
	if got := r.latency.quantile(.5); got < 5*time.Millisecond || got > 5100*time.Microsecond {
		t.Errorf("median latency %v, want 5 ms", got)
	}
	if r.stalls != 0 {
		t.Errorf("stalls = %d", r.stalls)
	}
}

func TestTrackRecvRepairedPacketCompletesFrame(t *testing.T) {
	r := newTrackRecv(true, 600*time.Millisecond)
	p := probe{sent: t0, frame: 1, layer: 's'}
	r.onPacket(recvPacket{seq: 10, ts: 1, frameStart: true, probe: p, hasProbe: true}, t0)
	r.onPacket(recvPacket{seq: 12, ts: 1, marker: true}, t0)
	if r.frames != 0 {
		t.Fatal("frame complete with a hole")
	}
	r.onPacket(recvPacket{seq: 11, ts: 1}, t0.Add(30*time.Millisecond)) // the NACKed packet
	r.onPacket(recvPacket{seq: 11, ts: 1}, t0.Add(31*time.Millisecond)) // and a duplicate
	if r.frames != 1 || r.late != 1 || r.dups != 1 || r.unique != 3 {
		t.Fatalf("frames %d late %d dups %d unique %d", r.frames, r.late, r.dups, r.unique)
	}
	if got := r.latency.quantile(1); got != 30*time.Millisecond {
		t.Errorf("latency %v, want 30ms (completion time)", got)
	}
}

func TestTrackRecvStalls(t *testing.T) {
	r := newTrackRecv(false, 200*time.Millisecond) // audio: every packet is a frame
	at := t0
	for i := range 10 {
		gap := 20 * time.Millisecond
		if i == 5 {
			gap = 500 * time.Millisecond
		}
		at = at.Add(gap)
		r.onPacket(recvPacket{seq: uint16(i), probe: probe{sent: at, frame: uint32(i + 1)}, hasProbe: true}, at)
	}
	if r.stalls != 1 || r.stallTime != 500*time.Millisecond {
		t.Errorf("stalls %d (%v), want 1 (500ms)", r.stalls, r.stallTime)
	}
	if r.ongoingStall(at.Add(100*time.Millisecond)) != 0 || r.ongoingStall(at.Add(300*time.Millisecond)) != 300*time.Millisecond {
		t.Error("ongoing stall misreported")
	}
	r.resetWindow()
	if r.stalls != 0 || r.latency.n != 0 {
		t.Error("window reset kept window counts")
	}
	d := r.counters().sub(r.win)
	if d.expected != 0 || d.unique != 0 {
		t.Errorf("window counters not zero after reset: %+v", d)
	}
}

func TestTrackRecvBoundsPendingFrames(t *testing.T) {
	r := newTrackRecv(true, time.Second)
	for i := range 10 * maxPendingFrames {
		// start packets only: no frame ever completes
		r.onPacket(recvPacket{seq: uint16(2 * i), ts: uint32(i), frameStart: true}, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if len(r.pending) > maxPendingFrames {
		t.Fatalf("%d pending frames, bound %d", len(r.pending), maxPendingFrames)
	}
}

func FuzzTrackRecv(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 1, 1, 0, 2, 0, 1, 2, 0})
	f.Add([]byte{255, 255, 7, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newTrackRecv(len(b)%2 == 0, 600*time.Millisecond)
		for i := 0; i+4 <= len(b); i += 4 {
			if i == len(b)/8*4 {
				r.resetWindow() // a window starting midway
			}
			p := recvPacket{seq: uint16(b[i])<<8 | uint16(b[i+1]), ts: uint32(b[i+2] & 7), marker: b[i+3]&1 == 1, frameStart: b[i+3]&2 == 2, hasProbe: b[i+3]&4 == 4}
			r.onPacket(p, t0.Add(time.Duration(i)*time.Millisecond))
		}
		if r.unique > r.expected() || r.late > r.unique || len(r.pending) > maxPendingFrames {
			t.Fatalf("inconsistent: unique %d expected %d late %d pending %d", r.unique, r.expected(), r.late, len(r.pending))
		}
		if lost, sent := r.windowLoss(); lost > sent {
			t.Fatalf("window: %d lost of %d sent", lost, sent)
		}
	})
}

// TestWindowLossNeverNegative: packets lost before the window and repaired
// inside it must not make the window's loss negative (or, unsigned, huge).
func TestWindowLossNeverNegative(t *testing.T) {
	r := newTrackRecv(false, time.Second)
	for s := uint16(0); s < 100; s++ {
		if s%2 == 0 {
			r.onPacket(recvPacket{seq: s}, t0)
		}
	}
	r.resetWindow()
	for s := uint16(1); s < 100; s += 2 { // the repairs
		r.onPacket(recvPacket{seq: s}, t0)
	}
	r.onPacket(recvPacket{seq: 100}, t0)
	if lost, sent := r.windowLoss(); lost != 0 || sent != 2 { // 99 and 100 are new
		t.Fatalf("window: %d lost of %d sent, want 0 of 2", lost, sent)
	}
	if got := lossFrac(10, 9); got != 0.1 {
		t.Fatalf("lossFrac(10, 9) = %v", got)
	}
}

// TestWindowLossCountsLossesThatLeaveTheDedupWindow: a packet never received
// stays lost after the window slides past it, and losses before the window
// began are not the window's.
func TestWindowLossCountsLossesThatLeaveTheDedupWindow(t *testing.T) {
	r := newTrackRecv(false, time.Second)
	seq := uint16(60000)
	send := func(n int, skipEvery int) {
		for i := range n {
			if skipEvery == 0 || i%skipEvery != 0 {
				r.onPacket(recvPacket{seq: seq}, t0)
			}
			seq++
		}
	}
	send(1000, 10) // 100 lost before the window
	r.resetWindow()
	send(3*seqWindow, 100) // wraps the 16-bit space and slides the dedup window thrice
	lost, sent := r.windowLoss()
	if want := uint64(3*seqWindow+99) / 100; sent != 3*seqWindow || lost != want {
		t.Fatalf("window: %d lost of %d sent, want %d of %d", lost, sent, want, 3*seqWindow)
	}
	// A jump beyond the dedup window loses everything it skips.
	seq += 2 * seqWindow
	r.onPacket(recvPacket{seq: seq}, t0)
	lost2, sent2 := r.windowLoss()
	if sent2 != sent+2*seqWindow+1 || lost2 != lost+2*seqWindow {
		t.Fatalf("after a jump: %d lost of %d sent, want %d of %d", lost2, sent2, lost+2*seqWindow, sent+2*seqWindow+1)
	}
}
