package qrtp

import "io"

// relRecv is the receiving half of a reliable stream: a window of bytes
// starting at the read offset, which parts have arrived, and the limit we
// advertised. Memory is bounded by the window.
type relRecv struct {
	ring     byteRing // ring.base == readOff
	received rangeSet // offsets >= readOff
	highest  uint64   // highest offset received (flow-control accounting)
	maxData  uint64   // limit we advertised
	window   uint64   // current window size (auto-tuned)
	maxWin   uint64
	finOff   uint64
	hasFin   bool
	reset    *StreamResetError
	// lastUpdate is when we last raised maxData, for auto-tuning.
	lastUpdate uint64 // in connection clock units (ns since conn start)
	// grown says maxData was raised on receipt and must be announced.
	grown bool
}

func newRelRecv(window, maxWindow int) *relRecv {
	return &relRecv{maxData: initialStreamWindow, window: uint64(window), maxWin: uint64(maxWindow)}
}

func (r *relRecv) readOff() uint64 { return r.ring.base }

// onData stores a STREAM frame. It returns how far the highest received
// offset advanced (for connection flow control) and whether new bytes
// became readable, or a protocol error.
func (r *relRecv) onData(off uint64, data []byte, fin bool) (grew uint64, readable bool, err error) {
	end := off + uint64(len(data))
	if end > r.maxData {
		return 0, false, protoErr(CodeFlowControl, "stream data to %d beyond limit %d", end, r.maxData)
	}
	if r.hasFin && (end > r.finOff || (fin && end != r.finOff)) {
		return 0, false, protoErr(CodeProtocolViolation, "stream data beyond final size")
	}
	if fin {
		if end < r.highest {
			return 0, false, protoErr(CodeProtocolViolation, "final size below received data")
		}
		r.finOff, r.hasFin = end, true
	}
	if end > r.highest {
		grew = end - r.highest
		r.highest = end
	}
	if r.reset == nil && !r.hasFin && r.highest+r.window/8 >= r.maxData && r.window < r.maxWin && r.holed() {
		// The peer is about to run out of credit while a hole stalls
		// reads (so the read-driven update would not come): grow the
		// window now, up to the configured maximum. Without a hole the
		// application is just slow, and the window stays as it is.
		r.window = min(2*r.window, r.maxWin)
		r.maxData = max(r.maxData, r.readOff()+r.window)
		r.grown = true
	}
	if r.reset != nil {
		return grew, false, nil
	}
	start := max(off, r.readOff())
	if start < end {
		data = data[start-off:]
		r.ring.ensure(end)
		r.ring.writeAt(start, data)
		r.received.add(start, end)
	}
	return grew, r.available() > 0 || r.atEOF(), nil
}

// holed reports a gap between the read offset and the highest byte
// received: data waits on a retransmission, not on the application.
func (r *relRecv) holed() bool {
	f, ok := r.received.first()
	return ok && (f.start != r.readOff() || f.end < r.highest)
}

// available is the number of contiguous bytes ready to read.
func (r *relRecv) available() int {
	f, ok := r.received.first()
	if !ok || f.start != r.readOff() {
		return 0
	}
	return int(f.end - f.start)
}

func (r *relRecv) atEOF() bool { return r.hasFin && r.readOff() == r.finOff }

func (r *relRecv) read(p []byte) (int, error) {
	if r.reset != nil {
		return 0, r.reset
	}
	n := min(len(p), r.available())
	if n == 0 {
		if r.atEOF() {
			return 0, io.EOF
		}
		return 0, nil
	}
	off := r.readOff()
	r.ring.readAt(off, p[:n])
	r.ring.advance(off + uint64(n))
	r.received.removeBelow(off + uint64(n))
	if r.atEOF() {
		return n, io.EOF
	}
	return n, nil
}

// wantUpdate reports whether the advertised limit should be raised: once
// less than half the window is left.
func (r *relRecv) wantUpdate() bool {
	return !r.hasFin && r.reset == nil && r.maxData-r.readOff() < r.window/2
}

// update raises the limit to readOff + window, doubling the window first
// if the previous update was less than two RTTs ago (the application
// drains faster than the window turns over). It returns the new limit.
// (onData also grows the window when the peer nearly exhausts it.)
func (r *relRecv) update(nowNs, srttNs uint64) uint64 {
	if r.lastUpdate != 0 && nowNs-r.lastUpdate < 2*srttNs && r.window < r.maxWin {
		r.window = min(2*r.window, r.maxWin)
	}
	r.lastUpdate = nowNs
	r.maxData = max(r.maxData, r.readOff()+r.window)
	return r.maxData
}

func (r *relRecv) buffered() int { return int(r.highest - min(r.highest, r.readOff())) }

// onReset records the peer's reset; it returns the growth of the highest
// offset implied by the final size.
func (r *relRecv) onReset(code ErrorCode, final uint64) (uint64, error) {
	if (r.hasFin && final != r.finOff) || final < r.highest || final > r.maxData {
		return 0, protoErr(CodeProtocolViolation, "bad final size %d in reset", final)
	}
	grew := final - r.highest
	r.highest, r.finOff, r.hasFin = final, final, true
	if r.reset == nil {
		r.reset = &StreamResetError{Code: code}
		r.received.reset()
		r.ring.release()
	}
	return grew, nil
}

// done: everything up to the end was read, or the stream was reset.
func (r *relRecv) done() bool { return r.reset != nil || r.atEOF() }
