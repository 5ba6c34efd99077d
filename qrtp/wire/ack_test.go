package wire

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestAckRoundTrip(t *testing.T) {
	got := roundTrip(t, &Frame{Type: FrameAck, Ack: AckFrame{Delay: 25 * time.Millisecond,
		Ranges: []AckRange{{1000, 1999}, {998, 998}, {500, 996}, {0, 0}}}})
	if got.Ack.Largest() != 1999 || got.Ack.Delay != 25*time.Millisecond || len(got.Ack.Ranges) != 4 {
		t.Fatalf("%+v", got.Ack)
	}
}

// Half of a 2000-packet window lost at random gives hundreds of ranges:
// the frame must keep the newest MaxAckRanges and report them exactly.
func TestAckManyRangesTruncatesOldest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ranges []AckRange // newest first
	for pn := uint64(2000); pn > 0; pn-- {
		if rng.IntN(2) == 0 {
			continue
		}
		if n := len(ranges); n > 0 && ranges[n-1].Smallest == pn+1 {
			ranges[n-1].Smallest = pn
		} else {
			ranges = append(ranges, AckRange{pn, pn})
		}
	}
	if len(ranges) <= MaxAckRanges {
		t.Fatalf("only %d ranges", len(ranges))
	}
	b, n := AppendAck(nil, 0, ranges, 1<<20)
	if n != MaxAckRanges {
		t.Fatalf("wrote %d ranges", n)
	}
	var f Frame
	if _, err := ParseFrame(b, &f); err != nil {
		t.Fatal(err)
	}
	for i, r := range f.Ack.Ranges {
		if r != ranges[i] {
			t.Fatalf("range %d: %v want %v", i, r, ranges[i])
		}
	}
	// A size limit keeps the newest ranges that fit.
	b, n = AppendAck(nil, 0, ranges, 100)
	if len(b) > 100 || n == 0 || n >= MaxAckRanges {
		t.Fatalf("limited: %d bytes, %d ranges", len(b), n)
	}
	if _, err := ParseFrame(b, &f); err != nil || len(f.Ack.Ranges) != n {
		t.Fatalf("limited parse: %v, %d ranges", err, len(f.Ack.Ranges))
	}
	if _, n = AppendAck(nil, 0, ranges, 3); n != 0 {
		t.Fatalf("tiny limit wrote %d ranges", n)
	}
}

func TestAckRejectsUnderflow(t *testing.T) {
	for _, b := range [][]byte{
		{0x02, 5, 0, 0x40, 0, 6},       // first range larger than largest
		{0x02, 5, 0, 0x40, 1, 2, 3, 0}, // gap below zero
		{0x02, 5, 0, 0x41, 0, 0},       // count 256 ranges is too many
	} {
		var f Frame
		if _, err := ParseFrame(b, &f); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: %v", b, err)
		}
	}
}

func FuzzAckFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameAck, Ack: AckFrame{Delay: time.Millisecond, Ranges: []AckRange{{10, 20}, {0, 5}}}})
}

func BenchmarkAckEncodeDecode256(b *testing.B) {
	var ranges []AckRange
	for i := 0; i < MaxAckRanges; i++ {
		hi := uint64(10000 - 4*i)
		ranges = append(ranges, AckRange{hi - 1, hi})
	}
	buf := make([]byte, 0, 4096)
	var f Frame
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendAck(buf[:0], time.Millisecond, ranges, 4096)
		if _, err := ParseFrame(buf, &f); err != nil {
			b.Fatal(err)
		}
	}
}
