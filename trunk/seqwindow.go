package trunk

// seqWindow remembers which of the last 256 RTP sequence numbers of one
// layer have been forwarded. A node forwards each packet once even when it
// arrives twice: during a make-before-break route change both the old and
// the new upstream deliver it, and a transient routing loop would otherwise
// circulate packets until their deadline.
type seqWindow struct {
	started bool
	top     uint16    // highest sequence number seen (in RTP's modular order)
	bits    [4]uint64 // bit i: top-i was seen
}

const seqWindowSize = 256

// fresh reports whether seq was not seen yet, and marks it seen.
func (w *seqWindow) fresh(seq uint16) bool {
	if !w.started {
		w.started, w.top, w.bits = true, seq, [4]uint64{1}
		return true
	}
	d := int16(seq - w.top)
	switch {
	case d > 0:
		w.shift(int(d))
		w.top = seq
		w.bits[0] |= 1
		return true
	case -int(d) >= seqWindowSize:
		// Far behind: a restarted stream or a very late packet. Treat a
		// jump this large as a new stream rather than drop everything.
		if -int(d) > 4*seqWindowSize {
			w.started = false
			return w.fresh(seq)
		}
		return false
	default:
		i := -int(d)
		word, bit := i/64, uint(i%64)
		if w.bits[word]&(1<<bit) != 0 {
			return false
		}
		w.bits[word] |= 1 << bit
		return true
	}
}

// shift moves the window n places (towards older).
func (w *seqWindow) shift(n int) {
	if n >= seqWindowSize {
		w.bits = [4]uint64{}
		return
	}
	for ; n >= 64; n -= 64 {
		w.bits[3], w.bits[2], w.bits[1], w.bits[0] = w.bits[2], w.bits[1], w.bits[0], 0
	}
	if n == 0 {
		return
	}
	for i := 3; i > 0; i-- {
		w.bits[i] = w.bits[i]<<n | w.bits[i-1]>>(64-n)
	}
	w.bits[0] <<= n
}
