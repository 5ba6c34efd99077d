package wire

// FECRecoveredFrame lists packet numbers the receiver rebuilt from FEC, so
// the sender neither retransmits their data nor counts them as delivered by
// the network when it feeds its congestion controller.
//
// Layout: type 0x1d, count (1..MaxFECRecovered), first packet number,
// count-1 increasing deltas.
type FECRecoveredFrame struct {
	Packets []uint64 // increasing
}

// Append encodes the frame with at most MaxFECRecovered packet numbers.
func (f *FECRecoveredFrame) Append(b []byte) []byte {
	pns := f.Packets[:min(len(f.Packets), MaxFECRecovered)]
	b = AppendVarint(append(b, byte(FrameFECRecovered)), uint64(len(pns)))
	return appendIncreasing(b, pns)
}

func (f *FECRecoveredFrame) parse(r *reader) {
	n := r.varint()
	if r.err != nil {
		return
	}
	if n == 0 || n > MaxFECRecovered {
		r.fail(ErrRange)
		return
	}
	f.Packets = parseIncreasing(r, f.Packets, int(n), MaxFECRecovered)
}

// FECRecoveredLen is the encoded size of a FEC_RECOVERED frame listing pns
// (increasing, at most MaxFECRecovered).
func FECRecoveredLen(pns []uint64) int {
	n := 1 + VarintLen(uint64(len(pns)))
	for i, pn := range pns {
		if i == 0 {
			n += VarintLen(pn)
		} else {
			n += VarintLen(pn - pns[i-1])
		}
	}
	return n
}
