package sfutest

// dupWindow remembers which of the last dupSpan sequence numbers of a
// stream arrived, to tell a duplicate from a late packet.
//
// A subscriber gets duplicates over RTX: pion's NACK generator learns only
// of packets that arrive on the media stream, not of those recovered over
// RTX, so it keeps asking for a recovered packet (every 100 ms, for as
// long as the packet is in its 512-packet window) and the node keeps
// resending it. Each copy is older than the last; a receiver's jitter
// buffer drops it, and so does TrackStats.
type dupWindow struct {
	bits    [dupSpan / 64]uint64
	high    uint16 // the highest sequence number seen
	started bool
}

const dupSpan = 1024

// seen records seq and reports whether it had arrived already.
func (w *dupWindow) seen(seq uint16) bool {
	if !w.started {
		w.started = true
		w.high = seq
		w.set(seq)
		return false
	}
	if ahead := seq - w.high; ahead != 0 && ahead < 1<<15 {
		if ahead >= dupSpan {
			w.bits = [dupSpan / 64]uint64{}
		} else {
			for s := w.high + 1; s != seq; s++ {
				w.clear(s)
			}
		}
		w.high = seq
		w.set(seq)
		return false
	}
	if w.high-seq >= dupSpan {
		return false // too old to know; not a duplicate of anything recent
	}
	if w.has(seq) {
		return true
	}
	w.set(seq)
	return false
}

func (w *dupWindow) set(seq uint16)      { w.bits[seq%dupSpan/64] |= 1 << (seq % 64) }
func (w *dupWindow) clear(seq uint16)    { w.bits[seq%dupSpan/64] &^= 1 << (seq % 64) }
func (w *dupWindow) has(seq uint16) bool { return w.bits[seq%dupSpan/64]&(1<<(seq%64)) != 0 }
