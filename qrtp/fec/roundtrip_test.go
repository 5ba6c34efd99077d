package fec

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// symbol is one encoded symbol as a test keeps it: a source (with its
// payload) or a repair (copied out of the encoder).
type symbol struct {
	source  bool
	id      SourceID
	payload []byte
	repair  Repair
}

// encodeGroup encodes payloads as one group of k = len(payloads) with m
// repairs and returns its n symbols in shard order.
func encodeGroup(t testing.TB, payloads [][]byte, m int) []symbol {
	t.Helper()
	e := NewEncoder(EncoderConfig{MaxPayload: 1500, FirstGroup: 7})
	if err := e.SetParams(Params{K: len(payloads), M: m}); err != nil {
		t.Fatal(err)
	}
	var syms []symbol
	for _, p := range payloads {
		id, err := e.Add(t0, p)
		if err != nil {
			t.Fatal(err)
		}
		syms = append(syms, symbol{source: true, id: id, payload: p})
	}
	for _, r := range e.Repairs() {
		r.Data = bytes.Clone(r.Data)
		syms = append(syms, symbol{repair: r})
	}
	if len(syms) != len(payloads)+m {
		t.Fatalf("%d symbols for k=%d m=%d", len(syms), len(payloads), m)
	}
	return syms
}

// randomPayloads returns k payloads of varied sizes, including empty and
// maximal ones.
func randomPayloads(rng *rand.Rand, k int) [][]byte {
	ps := make([][]byte, k)
	for i := range ps {
		var n int
		switch rng.IntN(4) {
		case 0:
			n = rng.IntN(3)
		case 1:
			n = 1500
		default:
			n = rng.IntN(1501)
		}
		ps[i] = make([]byte, n)
		for j := range ps[i] {
			ps[i][j] = byte(rng.Uint32())
		}
	}
	return ps
}

// deliver feeds the symbols for which present is true to a new decoder, in
// a shuffled order, and returns what it recovered by index. A source may be
// recovered before its own copy would have arrived, but never after.
func deliver(t testing.TB, rng *rand.Rand, syms []symbol, present func(i int) bool) map[int][]byte {
	t.Helper()
	d := NewDecoder(DecoderConfig{MaxPayload: 1500, MaxShards: MaxShards})
	got := make(map[int][]byte)
	seen := make(map[int]bool)
	for _, i := range rng.Perm(len(syms)) {
		if !present(i) {
			continue
		}
		var rec []Recovered
		var err error
		if s := syms[i]; s.source {
			seen[s.id.Index] = true
			rec, err = d.AddSource(t0, s.id, s.payload)
		} else {
			rec, err = d.AddRepair(t0, s.repair)
		}
		if err != nil {
			t.Fatalf("symbol %d: %v", i, err)
		}
		for _, r := range rec {
			if got[r.ID.Index] != nil || seen[r.ID.Index] {
				t.Fatalf("source %d recovered though already held", r.ID.Index)
			}
			if r.ID.Group != 7 {
				t.Fatalf("recovered into group %d", r.ID.Group)
			}
			got[r.ID.Index] = bytes.Clone(r.Payload)
		}
	}
	if len(got) > 0 && d.Open() != 0 {
		t.Fatalf("group still open after recovery")
	}
	return got
}

// checkSubset asserts the recovery outcome for one set of present symbols:
// with at least k of them every source is either delivered or recovered
// intact; with fewer, nothing is recovered.
func checkSubset(t *testing.T, rng *rand.Rand, payloads [][]byte, syms []symbol, present func(int) bool) {
	t.Helper()
	k := len(payloads)
	count := 0
	for i := range syms {
		if present(i) {
			count++
		}
	}
	got := deliver(t, rng, syms, present)
	if count < k {
		if len(got) != 0 {
			t.Fatalf("%d of n present (< k=%d): recovered %d", count, k, len(got))
		}
		return
	}
	for i := range k {
		p, ok := got[i]
		if !ok {
			if !present(i) {
				t.Fatalf("%d of n=%d present: source %d neither delivered nor recovered", count, len(syms), i)
			}
			continue
		}
		if !bytes.Equal(p, payloads[i]) {
			t.Fatalf("source %d: got %d bytes, want %d", i, len(p), len(payloads[i]))
		}
	}
}

func TestAnyKOfNExhaustive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range [][2]int{{1, 1}, {1, 3}, {2, 1}, {2, 2}, {3, 2}, {4, 4}, {5, 3}, {6, 4}} {
		k, m := c[0], c[1]
		t.Run(fmt.Sprintf("k%d_m%d", k, m), func(t *testing.T) {
			payloads := randomPayloads(rng, k)
			syms := encodeGroup(t, payloads, m)
			for mask := range 1 << (k + m) {
				checkSubset(t, rng, payloads, syms, func(i int) bool { return mask&(1<<i) != 0 })
			}
		})
	}
}

func TestAnyKOfNRandomized(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range [][2]int{{10, 5}, {20, 10}, {32, 32}, {100, 20}} {
		k, m := c[0], c[1]
		t.Run(fmt.Sprintf("k%d_m%d", k, m), func(t *testing.T) {
			payloads := randomPayloads(rng, k)
			syms := encodeGroup(t, payloads, m)
			for range 15 {
				// Keep exactly k (recoverable) or k-1 (not) symbols.
				keep := k - rng.IntN(2)
				perm := rng.Perm(k + m)
				present := make([]bool, k+m)
				for _, i := range perm[:keep] {
					present[i] = true
				}
				checkSubset(t, rng, payloads, syms, func(i int) bool { return present[i] })
			}
		})
	}
}

func TestEncoderFlushShortGroupsAndInterleave(t *testing.T) {
	e := NewEncoder(EncoderConfig{})
	p := Params{K: 4, M: 2, Interleave: 2, Short: []int{0, 3, 2, 2}, MaxDelay: 30 * time.Millisecond}
	if err := e.SetParams(p); err != nil {
		t.Fatal(err)
	}
	var ids []SourceID
	for i := range 3 {
		id, err := e.Add(t0.Add(time.Duration(i)*time.Millisecond), []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Round robin over two groups: 0→g0[0], 1→g1[0], 2→g0[1].
	want := []SourceID{{0, 0}, {1, 0}, {0, 1}}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("ids %v, want %v", ids, want)
		}
	}
	if nf := e.NextFlush(); !nf.Equal(t0.Add(30 * time.Millisecond)) {
		t.Fatalf("NextFlush %v", nf.Sub(t0))
	}
	if err := e.FlushDue(t0.Add(29 * time.Millisecond)); err != nil || len(e.Repairs()) != 0 {
		t.Fatal("flushed before MaxDelay")
	}
	// Group 0 (opened at 0ms) is due at 30ms, group 1 (1ms) at 31ms.
	e.FlushDue(t0.Add(30 * time.Millisecond))
	reps := e.Repairs()
	if len(reps) != 2 || reps[0].Group != 0 || reps[0].K != 2 || reps[0].M != 2 {
		t.Fatalf("short group of 2 should get Short[2]=2 repairs: %+v", reps)
	}
	e.Flush()
	reps = e.Repairs()
	if len(reps) != 3 || reps[0].Group != 1 || reps[0].K != 1 || reps[0].Index != 1 {
		t.Fatalf("short group of 1 should get Short[1]=3 repairs: %+v", reps)
	}
	if !e.NextFlush().IsZero() {
		t.Fatal("nothing open, yet a flush is due")
	}
	st := e.Stats()
	if st.Groups != 2 || st.ShortGroups != 2 || st.Repairs != 5 || st.Sources != 3 {
		t.Fatalf("stats %+v", st)
	}
	// Changing K seals what is open under the old parameters.
	e.Add(t0, []byte("x"))
	if err := e.SetParams(Params{K: 8, M: 4}); err != nil {
		t.Fatal(err)
	}
	if reps := e.Repairs(); len(reps) != 3 || reps[0].K != 1 {
		t.Fatalf("SetParams did not seal the open group: %+v", reps)
	}
	if err := e.SetParams(Params{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Add(t0, nil); err != ErrDisabled {
		t.Fatalf("Add with FEC off: %v", err)
	}
	if err := e.SetParams(Params{K: 200, M: 100}); err == nil {
		t.Fatal("k+m beyond 256 accepted")
	}
}

func TestEncoderRefusesOversizeAndBoundsPending(t *testing.T) {
	e := NewEncoder(EncoderConfig{MaxPayload: 100})
	e.SetParams(Params{K: 1, M: 8})
	if _, err := e.Add(t0, make([]byte, 101)); err == nil || e.Stats().Oversize != 1 {
		t.Fatalf("oversize accepted: %v", err)
	}
	for range 1000 { // never collecting repairs
		if _, err := e.Add(t0, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.Repairs()); n > maxPending {
		t.Fatalf("%d repairs pending", n)
	}
	if e.Stats().DroppedRepairs == 0 {
		t.Fatal("no drop counted")
	}
}

func TestEncoderSteadyStateDoesNotAllocate(t *testing.T) {
	e := NewEncoder(EncoderConfig{})
	e.SetParams(Params{K: 10, M: 5})
	payload := make([]byte, 1200)
	run := func() {
		for range 10 {
			e.Add(t0, payload)
		}
		e.Repairs()
	}
	run()
	// klauspost/reedsolomon allocates one small plan slice per Encode;
	// the encoder itself must add nothing.
	if a := testing.AllocsPerRun(50, run); a > 1 {
		t.Fatalf("%.1f allocations per group", a)
	}
}
