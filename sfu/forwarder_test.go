package sfu

import (
	"math/rand"
	"testing"
	"time"
)

// simLayer produces the packets of one simulcast layer: its own sequence
// numbers, timestamps and picture IDs, as a browser encoder would.
type simLayer struct {
	idx    int
	seq    uint16
	ts     uint32
	pic    uint16
	tl0    uint8
	unwrap seqUnwrapper
}

// frame returns the packets of one frame captured at `at`.
func (l *simLayer) frame(t *testing.T, key bool, pkts int, at time.Time) []*fwdPacket {
	t.Helper()
	var out []*fwdPacket
	for i := 0; i < pkts; i++ {
		d, err := parseVP8(vp8Payload(i == 0, key, l.pic, l.tl0, 10))
		if err != nil {
			t.Fatal(err)
		}
		pic := d.fields()
		ext, _ := l.unwrap.unwrap(l.seq)
		out = append(out, &fwdPacket{layer: l.idx, extSeq: ext, ts: l.ts, arrival: at, keyframe: d.keyframe, pic: &pic})
		l.seq++
	}
	l.ts += 3000
	l.pic = (l.pic + 1) & 0x7fff
	l.tl0++
	return out
}

// sent is one forwarded packet as the subscriber sees it.
type sent struct {
	layer int
	r     fwdResult
}

func run(f *forwarder, pkts []*fwdPacket) []sent {
	var out []sent
	for _, p := range pkts {
		if r, ok := f.forward(p); ok {
			out = append(out, sent{p.layer, r})
		}
	}
	return out
}

// checkContinuous asserts that the output is one gapless stream: sequence
// numbers and picture IDs step by one, timestamps never go back.
func checkContinuous(t *testing.T, out []sent) {
	t.Helper()
	for i := 1; i < len(out); i++ {
		a, b := out[i-1].r, out[i].r
		if b.seq != a.seq+1 {
			t.Fatalf("packet %d: seq %d after %d", i, b.seq, a.seq)
		}
		if int32(b.ts-a.ts) < 0 {
			t.Fatalf("packet %d: ts %d after %d", i, b.ts, a.ts)
		}
		if b.ts != a.ts && (b.picID != (a.picID+1)&0x7fff || b.tl0 != a.tl0+1) {
			t.Fatalf("packet %d: picture %d/%d after %d/%d", i, b.picID, b.tl0, a.picID, a.tl0)
		}
	}
}

func TestForwarderStartsOnKeyframe(t *testing.T) {
	f := newForwarder(true, 90000, 1000, 5000)
	f.setTarget(0)
	l := &simLayer{seq: 100, ts: 1, pic: 10}
	now := time.Unix(0, 0)
	if out := run(f, l.frame(t, false, 3, now)); len(out) != 0 {
		t.Fatalf("forwarded %d packets before a key frame", len(out))
	}
	if layer, ok := f.keyframeWanted(); !ok || layer != 0 {
		t.Fatalf("keyframeWanted = %d %v", layer, ok)
	}
	out := run(f, l.frame(t, true, 3, now))
	if len(out) != 3 || !out[0].r.switched || out[0].r.seq != 1000 || out[0].r.ts != 5000 {
		t.Fatalf("start: %+v", out)
	}
	out = append(out, run(f, l.frame(t, false, 2, now.Add(33*time.Millisecond)))...)
	checkContinuous(t, out)
	if _, ok := f.keyframeWanted(); ok {
		t.Fatal("still wants a key frame on its target")
	}
}

func TestForwarderSwitchesOnlyAtKeyframe(t *testing.T) {
	for _, tc := range []struct {
		name         string
		small, large simLayer
		from, to     int
	}{
		{"up", simLayer{idx: 0, seq: 10, ts: 1000, pic: 5}, simLayer{idx: 1, seq: 40000, ts: 7e8, pic: 30000}, 0, 1},
		{"down", simLayer{idx: 0, seq: 65530, ts: 0xfffff000, pic: 0x7ffe}, simLayer{idx: 1, seq: 65500, ts: 12, pic: 1}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layers := []*simLayer{&tc.small, &tc.large}
			f := newForwarder(true, 90000, 65534, 0)
			f.setTarget(tc.from)
			now := time.Unix(0, 0)
			var out []sent
			step := func(keyOn map[int]bool) {
				now = now.Add(33 * time.Millisecond)
				for _, l := range layers {
					out = append(out, run(f, l.frame(t, keyOn[l.idx], 2+l.idx, now))...)
				}
			}
			step(map[int]bool{tc.from: true})
			step(nil)
			f.setTarget(tc.to)
			step(nil)
			step(nil)
			for _, s := range out {
				if s.layer != tc.from {
					t.Fatalf("forwarded layer %d before its key frame", s.layer)
				}
			}
			if f.current != tc.from {
				t.Fatal("switched without a key frame")
			}
			n := len(out)
			step(map[int]bool{tc.to: true})
			step(nil)
			for n < len(out) && out[n].layer == tc.from {
				n++ // the old layer's frame of the same instant still goes out
			}
			if f.current != tc.to || n == len(out) || !out[n].r.switched {
				t.Fatalf("no switch at the key frame: current %d", f.current)
			}
			for _, s := range out[n:] {
				if s.layer != tc.to {
					t.Fatal("old layer forwarded after the switch")
				}
			}
			checkContinuous(t, out)
		})
	}
}

func TestForwarderKeepsGapsAndReorders(t *testing.T) {
	f := newForwarder(true, 90000, 0, 0)
	f.setTarget(0)
	l := &simLayer{seq: 65533}
	now := time.Unix(0, 0)
	pkts := l.frame(t, true, 6, now) // seqs 65533..65535, 0..2: rollover inside
	var got []uint16
	for _, i := range []int{0, 1, 3, 2, 5} { // 4 lost, 2 and 3 swapped
		if r, ok := f.forward(pkts[i]); ok {
			got = append(got, r.seq)
		}
	}
	want := []uint16{0, 1, 3, 2, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	layer, ext, ok := f.inputFor(4)
	if !ok || layer != 0 || ext != pkts[4].extSeq {
		t.Fatalf("inputFor(4) = %d %d %v, want ext %d", layer, ext, ok, pkts[4].extSeq)
	}
}

func TestForwarderDropsPacketsFromBeforeTheSwitch(t *testing.T) {
	f := newForwarder(true, 90000, 0, 0)
	f.setTarget(1)
	s, l := &simLayer{idx: 0}, &simLayer{idx: 1, seq: 500}
	now := time.Unix(0, 0)
	run(f, s.frame(t, true, 1, now))
	late := l.frame(t, false, 2, now)
	run(f, l.frame(t, true, 2, now))
	if f.current != 1 {
		t.Fatal("did not switch")
	}
	if _, ok := f.forward(late[1]); ok {
		t.Fatal("forwarded a retransmission from before the switch point")
	}
	if _, ok := f.forward(&fwdPacket{layer: 0, extSeq: s.unwrapNext(), keyframe: true}); ok {
		t.Fatal("forwarded the old layer after the switch")
	}
}

func (l *simLayer) unwrapNext() uint64 {
	e, _ := l.unwrap.unwrap(l.seq)
	l.seq++
	return e
}

func TestForwarderPauseResumeIsContinuous(t *testing.T) {
	f := newForwarder(true, 90000, 7, 0)
	f.setTarget(0)
	l := &simLayer{seq: 3000}
	now := time.Unix(0, 0)
	out := run(f, l.frame(t, true, 2, now))
	if !f.setTarget(-1) || f.current != -1 {
		t.Fatal("pausing did not stop the current layer")
	}
	if got := run(f, l.frame(t, true, 2, now.Add(time.Second))); len(got) != 0 {
		t.Fatal("forwarded while paused")
	}
	f.setTarget(0)
	if got := run(f, l.frame(t, false, 2, now.Add(2*time.Second))); len(got) != 0 {
		t.Fatal("resumed on a delta frame")
	}
	resumed := run(f, l.frame(t, true, 2, now.Add(3*time.Second)))
	if len(resumed) == 0 || resumed[0].r.ts-out[len(out)-1].r.ts != 3*90000 {
		t.Fatalf("resume timestamp jump %d, want 3 s of ticks", resumed[0].r.ts-out[len(out)-1].r.ts)
	}
	checkContinuous(t, append(out, resumed...))
}

func TestForwarderAudioMuteUnmute(t *testing.T) {
	f := newForwarder(false, 48000, 0, 0)
	f.setTarget(0)
	var u seqUnwrapper
	seq, ts := uint16(65000), uint32(0)
	now := time.Unix(0, 0)
	send := func() (fwdResult, bool) {
		ext, _ := u.unwrap(seq)
		p := &fwdPacket{extSeq: ext, ts: ts, arrival: now}
		seq++
		ts += 960
		now = now.Add(20 * time.Millisecond)
		return f.forward(p)
	}
	first, ok := send()
	if !ok || !first.switched {
		t.Fatal("audio did not start on the first packet")
	}
	f.setTarget(-1)
	for i := 0; i < 50; i++ {
		if _, ok := send(); ok {
			t.Fatal("forwarded while muted")
		}
	}
	f.setTarget(0)
	r, ok := send()
	if !ok {
		t.Fatal("unmute waited: audio must flow on the first packet")
	}
	if r.seq != first.seq+1 {
		t.Fatalf("seq %d after %d across mute", r.seq, first.seq)
	}
	if got := r.ts - first.ts; got != 51*960 {
		t.Fatalf("timestamp advanced %d over 1.02 s, want %d", got, 51*960)
	}
}

// TestForwarderRandomSwitches drives two layers with loss, reordering and
// random target changes, and checks that the output never reuses a sequence
// number for different input and that in-order output is gapless where the
// input was.
func TestForwarderRandomSwitches(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	f := newForwarder(true, 90000, uint16(rng.Intn(65536)), rng.Uint32())
	f.setTarget(1)
	layers := []*simLayer{
		{idx: 0, seq: uint16(rng.Intn(65536)), ts: rng.Uint32(), pic: uint16(rng.Intn(32768))},
		{idx: 1, seq: uint16(rng.Intn(65536)), ts: rng.Uint32(), pic: uint16(rng.Intn(32768))},
	}
	type key struct {
		layer int
		ext   uint64
	}
	owner := map[uint16]key{}
	now := time.Unix(0, 0)
	switches := 0
	for frame := 0; frame < 20000; frame++ {
		now = now.Add(33 * time.Millisecond)
		if rng.Intn(50) == 0 {
			f.setTarget(rng.Intn(2))
		}
		for _, l := range layers {
			pkts := l.frame(t, rng.Intn(30) == 0, 1+l.idx*2, now)
			if rng.Intn(10) == 0 && len(pkts) > 1 {
				pkts[0], pkts[1] = pkts[1], pkts[0]
			}
			for _, p := range pkts {
				if rng.Intn(100) == 0 {
					continue // lost
				}
				r, ok := f.forward(p)
				if !ok {
					continue
				}
				if r.switched {
					switches++
				}
				k := key{p.layer, p.extSeq}
				if prev, dup := owner[r.seq]; dup && prev != k && frame < 1000 {
					t.Fatalf("out seq %d reused: %+v then %+v", r.seq, prev, k)
				}
				owner[r.seq] = k
			}
		}
	}
	if switches < 20 {
		t.Fatalf("only %d switches exercised", switches)
	}
}
