package qrtp

// ringBlockShift sets the size of the blocks a byteRing is made of: 16 KiB,
// a dozen packets. Small enough that an idle stream with a few bytes
// outstanding holds little, large enough that a 64 MiB send buffer is
// 4096 of them.
const (
	ringBlockShift = 14
	ringBlockSize  = 1 << ringBlockShift
	ringBlockMask  = ringBlockSize - 1
)

// blockPool is an endpoint's free list of ring blocks, so streams reuse
// each other's memory instead of allocating; it keeps at most max blocks.
type blockPool struct {
	free [][]byte
	max  int
}

func (p *blockPool) get() []byte {
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	return make([]byte, ringBlockSize)
}

func (p *blockPool) put(b []byte) {
	if len(p.free) < p.max {
		p.free = append(p.free, b)
	}
}

// byteRing holds the bytes of one stream direction between two offsets, in
// fixed-size blocks indexed by offset: block i of the ring holds offsets
// [(first+i)·size, (first+i+1)·size). Writes at any offset inside the
// window and reads from the front are O(1) per byte; growing appends
// blocks and never copies what is held (a large send buffer used to cost
// an allocation and a copy of the whole window at every doubling); blocks
// wholly below the front go back to the pool, and all of them once
// everything written has been consumed.
type byteRing struct {
	pool *blockPool // nil: blocks are allocated and left to the GC
	// blocks is a deque of n blocks from slot head, in a power-of-two
	// array of slots, so freeing from the front and adding at the back
	// allocate nothing once it has grown.
	blocks [][]byte
	head   int
	n      int
	first  uint64 // block number of the block at head
	base   uint64 // lowest offset still held
	end    uint64 // highest offset ensured
}

// at returns the ring's i-th block.
func (r *byteRing) at(i int) []byte { return r.blocks[(r.head+i)&(len(r.blocks)-1)] }

func (r *byteRing) pushBlock(b []byte) {
	if r.n == len(r.blocks) {
		nb := make([][]byte, max(2*len(r.blocks), 4))
		for i := range r.n {
			nb[i] = r.at(i)
		}
		r.blocks, r.head = nb, 0
	}
	r.blocks[(r.head+r.n)&(len(r.blocks)-1)] = b
	r.n++
}

func (r *byteRing) popBlock() {
	r.free(r.blocks[r.head])
	r.blocks[r.head] = nil
	r.head = (r.head + 1) & (len(r.blocks) - 1)
	r.n--
	r.first++
}

// ensure makes room for offsets [base, end).
func (r *byteRing) ensure(end uint64) {
	if end <= r.base {
		return
	}
	r.end = max(r.end, end)
	if r.n == 0 {
		r.first = r.base >> ringBlockShift
	}
	last := (end - 1) >> ringBlockShift
	for r.first+uint64(r.n) <= last {
		if r.pool != nil {
			r.pushBlock(r.pool.get())
		} else {
			r.pushBlock(make([]byte, ringBlockSize))
		}
	}
}

// block returns the block holding off and off's index in it.
func (r *byteRing) block(off uint64) ([]byte, int) {
	return r.at(int(off>>ringBlockShift - r.first)), int(off & ringBlockMask)
}

// writeAt stores p at offset off; the caller has called ensure.
func (r *byteRing) writeAt(off uint64, p []byte) {
	for len(p) > 0 {
		b, i := r.block(off)
		n := copy(b[i:], p)
		p = p[n:]
		off += uint64(n)
	}
}

// readAt copies len(p) bytes starting at off into p.
func (r *byteRing) readAt(off uint64, p []byte) {
	for len(p) > 0 {
		b, i := r.block(off)
		n := copy(p, b[i:])
		p = p[n:]
		off += uint64(n)
	}
}

// advance forgets everything below off, returning freed blocks.
func (r *byteRing) advance(off uint64) {
	if off <= r.base {
		return
	}
	r.base = off
	keep := r.base >> ringBlockShift
	if r.base >= r.end {
		keep = r.first + uint64(r.n) // nothing held: free them all
	}
	for r.n > 0 && r.first < keep {
		r.popBlock()
	}
}

// release returns every block (the stream is gone or reset).
func (r *byteRing) release() {
	for r.n > 0 {
		r.popBlock()
	}
	r.end = r.base
}

func (r *byteRing) free(b []byte) {
	if r.pool != nil {
		r.pool.put(b)
	}
}

// capacity is how many bytes the blocks held can store.
func (r *byteRing) capacity() int { return r.n * ringBlockSize }
