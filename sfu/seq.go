package sfu

// seqUnwrapper extends 16-bit RTP sequence numbers to 64 bits so that
// comparisons and offsets survive rollover. The first value is placed one
// cycle up so that packets slightly older than it still extend to a
// smaller number instead of wrapping below zero.
type seqUnwrapper struct {
	started bool
	highest uint64
}

// unwrap returns the extended sequence number of seq, and whether it is the
// newest seen so far.
func (u *seqUnwrapper) unwrap(seq uint16) (ext uint64, newest bool) {
	if !u.started {
		u.started = true
		u.highest = 1<<16 | uint64(seq)
		return u.highest, true
	}
	diff := int16(seq - uint16(u.highest))
	ext = uint64(int64(u.highest) + int64(diff))
	if diff > 0 {
		u.highest = ext
		return ext, true
	}
	return ext, false
}
