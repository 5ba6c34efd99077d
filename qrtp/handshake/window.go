package handshake

// ReplayWindowSize is how far behind the highest packet number received a
// packet may arrive and still be accepted. 4096 packets is about 50 ms at
// 1 Gbit/s of 1400-byte packets, and covers any reordering the recovery
// logic tolerates.
const ReplayWindowSize = 4096

const (
	windowWordBits = 64
	// One word more than the window: the word holding the highest packet
	// number is only partly inside the window, so a ring of exactly
	// ReplayWindowSize bits would cover less than ReplayWindowSize numbers
	// behind it (the layout of RFC 6479).
	windowWords = ReplayWindowSize/windowWordBits + 1

	// maxPacketNumber cannot be represented as top (pn+1 would wrap), so
	// it always reads as seen. Real numbers stop far below it
	// (MaxPacketsPerKey).
	maxPacketNumber = ^uint64(0)
)

// ReplayWindow rejects duplicate short-header packets: a sliding bitmap of
// the last ReplayWindowSize packet numbers. Packets older than that are
// treated as seen. The zero value is an empty window. Use it as: if
// w.Seen(pn) drop; open the packet; only if that succeeded, w.Mark(pn)
// (marking before authentication would let a forger block real packets).
type ReplayWindow struct {
	top  uint64 // highest marked packet number + 1; 0 when nothing is marked
	ring [windowWords]uint64
}

// Seen reports whether pn was marked already or is too old to tell.
func (w *ReplayWindow) Seen(pn uint64) bool {
	if pn == maxPacketNumber {
		return true
	}
	if pn >= w.top {
		return false
	}
	if w.top-pn > ReplayWindowSize {
		return true
	}
	word, bit := w.slot(pn)
	return w.ring[word]&bit != 0
}

// Mark records pn as received. Marking a number older than the window is
// a no-op, and so is marking the unusable number 2^64-1.
func (w *ReplayWindow) Mark(pn uint64) {
	if pn == maxPacketNumber {
		return
	}
	if pn >= w.top {
		w.advance(pn)
	} else if w.top-pn > ReplayWindowSize {
		return
	}
	word, bit := w.slot(pn)
	w.ring[word] |= bit
}

// advance makes pn the highest number, clearing the words the window slid
// past so their stale bits do not read as received.
func (w *ReplayWindow) advance(pn uint64) {
	newWord := pn / windowWordBits
	if w.top == 0 {
		// Nothing marked yet: the ring is all zero.
		w.top = pn + 1
		return
	}
	oldWord := (w.top - 1) / windowWordBits
	if steps := newWord - oldWord; steps >= windowWords {
		clear(w.ring[:])
	} else {
		for i := oldWord + 1; i <= newWord; i++ {
			w.ring[i%windowWords] = 0
		}
	}
	w.top = pn + 1
}

func (w *ReplayWindow) slot(pn uint64) (word int, bit uint64) {
	return int((pn / windowWordBits) % windowWords), 1 << (pn % windowWordBits)
}
