package wire

import "time"

// AckRange is an inclusive range of acknowledged packet numbers.
type AckRange struct{ Smallest, Largest uint64 }

// AckFrame acknowledges packets. Ranges are newest first, disjoint and
// non-adjacent; Ranges[0].Largest is the largest acknowledged packet number.
// Delay is how long the receiver held the largest before acknowledging it.
//
// Layout: type, largest, delay (µs), range count − 1, first range length,
// then (gap, range length) pairs, as in RFC 9000 §19.3 but with the delay in
// plain microseconds.
type AckFrame struct {
	Delay  time.Duration
	Ranges []AckRange
}

// Largest is the largest acknowledged packet number.
func (f *AckFrame) Largest() uint64 {
	if len(f.Ranges) == 0 {
		return 0
	}
	return f.Ranges[0].Largest
}

// Append encodes the frame with all its ranges (at most MaxAckRanges).
func (f *AckFrame) Append(b []byte) []byte {
	b, _ = AppendAck(b, f.Delay, f.Ranges, 1<<30)
	return b
}

// AppendAck encodes an ACK frame of at most maxLen bytes with as many of
// ranges (newest first) as fit, up to MaxAckRanges, and returns how many it
// wrote; 0 means not even the newest range fit and nothing was appended.
func AppendAck(b []byte, delay time.Duration, ranges []AckRange, maxLen int) ([]byte, int) {
	if len(ranges) == 0 {
		return b, 0
	}
	largest := ranges[0].Largest
	delayUs := uint64(max(delay, 0) / time.Microsecond)
	size := 1 + VarintLen(largest) + VarintLen(delayUs) + 2 + VarintLen(largest-ranges[0].Smallest)
	if size > maxLen {
		return b, 0
	}
	n := 1
	for ; n < len(ranges) && n < MaxAckRanges; n++ {
		gap, length := ranges[n-1].Smallest-ranges[n].Largest-2, ranges[n].Largest-ranges[n].Smallest
		s := VarintLen(gap) + VarintLen(length)
		if size+s > maxLen {
			break
		}
		size += s
	}
	b = append(b, byte(FrameAck))
	b = AppendVarint(b, largest)
	b = AppendVarint(b, delayUs)
	b = appendVarint2(b, uint64(n-1))
	b = AppendVarint(b, largest-ranges[0].Smallest)
	for i := 1; i < n; i++ {
		b = AppendVarint(b, ranges[i-1].Smallest-ranges[i].Largest-2)
		b = AppendVarint(b, ranges[i].Largest-ranges[i].Smallest)
	}
	return b, n
}

func (f *AckFrame) parse(r *reader) {
	largest := r.varint()
	delay := r.varint()
	count := r.varint()
	first := r.varint()
	if r.err != nil {
		return
	}
	if count >= MaxAckRanges || first > largest || delay > uint64(time.Hour/time.Microsecond) {
		r.fail(ErrRange)
		return
	}
	f.Delay = time.Duration(delay) * time.Microsecond
	if cap(f.Ranges) < MaxAckRanges {
		f.Ranges = make([]AckRange, 0, MaxAckRanges)
	}
	f.Ranges = append(f.Ranges[:0], AckRange{Smallest: largest - first, Largest: largest})
	for range count {
		gap, length := r.varint(), r.varint()
		if r.err != nil {
			return
		}
		prev := f.Ranges[len(f.Ranges)-1].Smallest
		if prev < gap+2 || prev-gap-2 < length {
			r.fail(ErrRange)
			return
		}
		hi := prev - gap - 2
		f.Ranges = append(f.Ranges, AckRange{Smallest: hi - length, Largest: hi})
	}
}
