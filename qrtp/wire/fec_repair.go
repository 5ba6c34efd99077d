package wire

// FECRepairFrame carries one Reed-Solomon repair symbol of an FEC group. The
// group protects the payloads of K source packets, listed by packet number;
// N-K repair symbols exist and this is the one numbered Index (K ≤ Index < N).
// The symbol encodes the padded, length-prefixed source payloads (the fec
// package defines that); wire only frames it.
//
// Layout: type 0x1c, group ID, index, K, N, first source packet number,
// K-1 increasing deltas to the next source packet numbers, symbol length,
// symbol.
type FECRepairFrame struct {
	GroupID uint64
	Index   int
	K       int
	N       int
	Packets []uint64 // the K source packet numbers, increasing
	Symbol  []byte
}

// Append encodes the frame. Packets must be increasing and len(Packets)==K.
func (f *FECRepairFrame) Append(b []byte) []byte {
	b = AppendVarint(append(b, byte(FrameFECRepair)), f.GroupID)
	b = AppendVarint(b, uint64(f.Index))
	b = AppendVarint(b, uint64(f.K))
	b = AppendVarint(b, uint64(f.N))
	b = appendIncreasing(b, f.Packets)
	b = AppendVarint(b, uint64(len(f.Symbol)))
	return append(b, f.Symbol...)
}

func (f *FECRepairFrame) parse(r *reader) {
	f.GroupID = r.varint()
	index, k, n := r.varint(), r.varint(), r.varint()
	if r.err != nil {
		return
	}
	if k == 0 || k > MaxFECGroup || n <= k || n > 255 || index < k || index >= n {
		r.fail(ErrRange)
		return
	}
	f.Index, f.K, f.N = int(index), int(k), int(n)
	f.Packets = parseIncreasing(r, f.Packets, f.K, MaxFECGroup)
	f.Symbol = r.bytes(r.varint())
}

// appendIncreasing writes an increasing list of packet numbers as the
// first one and the deltas to the next ones.
func appendIncreasing(b []byte, pns []uint64) []byte {
	for i, pn := range pns {
		if i == 0 {
			b = AppendVarint(b, pn)
		} else {
			b = AppendVarint(b, pn-pns[i-1])
		}
	}
	return b
}

// parseIncreasing reads n packet numbers written by appendIncreasing into
// dst's capacity (grown once to limit); deltas must be positive.
func parseIncreasing(r *reader, dst []uint64, n, limit int) []uint64 {
	if cap(dst) < limit {
		dst = make([]uint64, 0, limit)
	}
	dst = dst[:0]
	pn := r.varint()
	dst = append(dst, pn)
	for i := 1; i < n; i++ {
		d := r.varint()
		if d == 0 || pn+d > MaxVarint {
			r.fail(ErrRange)
			return dst
		}
		pn += d
		dst = append(dst, pn)
	}
	return dst
}
