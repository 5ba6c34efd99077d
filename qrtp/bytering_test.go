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
	if r.capacity() > 1<<16 {
		t.Errorf("grew to %d for a window under 8k", r.capacity())
	}
}
