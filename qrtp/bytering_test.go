package qrtp

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestByteRingGrowAndWrap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var r byteRing
	var model []byte // model[i] is offset base0+i
	base := uint64(0)
	end := uint64(0)
	for step := 0; step < 2000; step++ {
		n := rng.IntN(3000)
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		r.ensure(end + uint64(n))
		r.writeAt(end, p)
		model = append(model, p...)
		end += uint64(n)
		// read and free a random prefix
		k := uint64(rng.IntN(int(end-base) + 1))
		got := make([]byte, k)
		r.readAt(base, got)
		if !bytes.Equal(got, model[:k]) {
			t.Fatalf("step %d: mismatch", step)
		}
		model = model[k:]
		base += k
		r.advance(base)
	}
	if r.capacity() > 2*ringBlockSize {
		t.Errorf("grew to %d for a window under 8k", r.capacity())
	}
}

// TestByteRingGrowsWithoutCopying: a large buffer is built of blocks that
// never move as it grows, and blocks go back to the pool as the front
// advances, all of them once everything is consumed.
func TestByteRingGrowsWithoutCopying(t *testing.T) {
	pool := &blockPool{max: 1 << 10}
	r := byteRing{pool: pool}
	r.ensure(1 << 20)
	r.writeAt(0, []byte("first"))
	first := &r.at(0)[0]
	r.ensure(64 << 20)
	if &r.at(0)[0] != first || r.capacity() != 64<<20 {
		t.Fatalf("growing moved the first block or mis-sized the ring (%d)", r.capacity())
	}
	got := make([]byte, 5)
	r.readAt(0, got)
	if string(got) != "first" {
		t.Fatalf("read %q", got)
	}
	r.advance(3*ringBlockSize + 10)
	if len(pool.free) != 3 || r.capacity() != 64<<20-3*ringBlockSize {
		t.Fatalf("advance freed %d blocks, capacity %d", len(pool.free), r.capacity())
	}
	r.advance(64 << 20)
	if r.capacity() != 0 || len(pool.free) != pool.max {
		t.Fatalf("consumed ring holds %d bytes, pool %d blocks", r.capacity(), len(pool.free))
	}
	// A new window reuses pooled blocks.
	r.ensure(64<<20 + 100)
	if len(pool.free) != pool.max-1 {
		t.Fatalf("pool %d after reuse", len(pool.free))
	}
}
