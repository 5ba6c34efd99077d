package qrtp

// byteRing holds the bytes of one stream direction between two offsets in a
// power-of-two buffer indexed by offset, so writes at any offset inside the
// window and reads from the front are O(1) per byte with no per-write
// allocation. It grows by doubling up to the limit its owner enforces.
type byteRing struct {
	buf  []byte
	base uint64 // lowest offset still held
}

// ensure makes room for offsets [base, end).
func (r *byteRing) ensure(end uint64) {
	need := end - r.base
	if uint64(len(r.buf)) >= need {
		return
	}
	size := max(len(r.buf), 4096)
	for uint64(size) < need {
		size *= 2
	}
	nb := make([]byte, size)
	if len(r.buf) > 0 {
		// Copy the whole old window; offsets keep their meaning.
		old := uint64(len(r.buf))
		for off := r.base; off < r.base+old; {
			i := off & (old - 1)
			n := min(old-i, r.base+old-off)
			j := off & uint64(size-1)
			m := min(n, uint64(size)-j)
			copy(nb[j:j+m], r.buf[i:i+m])
			if m < n {
				copy(nb, r.buf[i+m:i+n])
			}
			off += n
		}
	}
	r.buf = nb
}

// writeAt stores p at offset off; the caller has called ensure.
func (r *byteRing) writeAt(off uint64, p []byte) {
	mask := uint64(len(r.buf) - 1)
	for len(p) > 0 {
		i := off & mask
		n := copy(r.buf[i:], p)
		p = p[n:]
		off += uint64(n)
	}
}

// readAt copies len(p) bytes starting at off into p.
func (r *byteRing) readAt(off uint64, p []byte) {
	mask := uint64(len(r.buf) - 1)
	for len(p) > 0 {
		i := off & mask
		n := copy(p, r.buf[i:])
		p = p[n:]
		off += uint64(n)
	}
}

// advance forgets everything below off.
func (r *byteRing) advance(off uint64) {
	if off > r.base {
		r.base = off
	}
}

// capacity is how many bytes the buffer holds without growing.
func (r *byteRing) capacity() int { return len(r.buf) }
