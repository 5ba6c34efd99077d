package sfu

import (
	"encoding/binary"
	"errors"

	"github.com/pion/rtcp"
)

// Transport-cc feedback (draft-holmer-rmcat-transport-wide-cc-extensions,
// RTPFB FMT 15) read in place. Every subscriber sends one every 50–100 ms;
// pion's parser (rtcp.TransportLayerCC) allocates an object for every
// packet a report covers and a slice per status chunk, which was about a
// tenth of the node's instructions per forwarded packet with feedback.
// This reader allocates nothing and accepts exactly what pion's does
// (FuzzTWCCReport compares the two).

var errTWCCReport = errors.New("sfu: malformed transport-cc feedback")

// twccReport is one feedback message: the transport-wide numbers from base
// on, count of them, their statuses (chunks) and arrival deltas.
type twccReport struct {
	base   uint16
	count  int
	ref    uint32 // reference time, 24 bits of 64 ms
	chunks []byte // packet status chunks, two bytes each
	deltas []byte // receive deltas
}

// twccHeader is the length of the fixed part: RTCP header, sender and
// media SSRCs, base, count, reference time and feedback count.
const twccHeader = 20

// parseTWCCReport reads one RTCP packet (header included) as transport-cc
// feedback and checks that its chunks and deltas are all there.
func parseTWCCReport(b []byte) (twccReport, error) {
	var h rtcp.Header
	if len(b) < 8 || h.Unmarshal(b) != nil {
		return twccReport{}, errTWCCReport
	}
	total := 4 * (int(h.Length) + 1)
	if total < twccHeader || len(b) < total || h.Type != rtcp.TypeTransportSpecificFeedback || h.Count != rtcp.FormatTCC {
		return twccReport{}, errTWCCReport
	}
	r := twccReport{base: binary.BigEndian.Uint16(b[12:]), count: int(binary.BigEndian.Uint16(b[14:])),
		ref: uint32(b[16])<<16 | uint32(b[17])<<8 | uint32(b[18])}
	pos, need, left := twccHeader, 0, r.count
	for left > 0 {
		// pion's parser wants a byte after the last chunk (a delta or
		// padding); so does this one, to accept the same reports.
		if pos+2 >= total {
			return twccReport{}, errTWCCReport
		}
		n, size := chunkDeltaBytes(binary.BigEndian.Uint16(b[pos:]), left)
		left -= n
		need += size
		pos += 2
	}
	if pos+need > total {
		return twccReport{}, errTWCCReport
	}
	r.chunks, r.deltas = b[twccHeader:pos], b[pos:pos+need]
	return r, nil
}

// chunkDeltaBytes is how many of left statuses a chunk covers and how many
// delta bytes they take.
func chunkDeltaBytes(c uint16, left int) (n, size int) {
	if c>>15 == 0 { // run length: symbol, 13-bit length
		n = min(int(c&0x1fff), left)
		return n, n * deltaSize(c>>13&3)
	}
	if c>>14&1 == 0 { // 14 one-bit symbols: received (small delta) or not
		n = min(14, left)
		for k := range n {
			size += int(c >> (13 - k) & 1)
		}
		return n, size
	}
	n = min(7, left) // 7 two-bit symbols
	for k := range n {
		size += deltaSize(c >> (12 - 2*k) & 3)
	}
	return n, size
}

// deltaSize is the delta bytes of a status symbol: 1 for a small delta,
// 2 for a large one, none for lost or received without a delta.
func deltaSize(sym uint16) int {
	switch sym {
	case rtcp.TypeTCCPacketReceivedSmallDelta:
		return 1
	case rtcp.TypeTCCPacketReceivedLargeDelta:
		return 2
	}
	return 0
}

// each calls fn with every status in order: the symbol and, for a
// received packet, its delta from the previous one in microseconds.
// parseTWCCReport checked the lengths.
func (r *twccReport) each(fn func(sym uint16, deltaUs int64)) {
	left, d := r.count, r.deltas
	emit := func(sym uint16) {
		var delta int64
		switch sym {
		case rtcp.TypeTCCPacketReceivedSmallDelta:
			delta, d = int64(d[0])*rtcp.TypeTCCDeltaScaleFactor, d[1:]
		case rtcp.TypeTCCPacketReceivedLargeDelta:
			delta, d = int64(int16(binary.BigEndian.Uint16(d)))*rtcp.TypeTCCDeltaScaleFactor, d[2:]
		}
		fn(sym, delta)
	}
	for i := 0; i+1 < len(r.chunks) && left > 0; i += 2 {
		c := binary.BigEndian.Uint16(r.chunks[i:])
		switch {
		case c>>15 == 0:
			n := min(int(c&0x1fff), left)
			for range n {
				emit(c >> 13 & 3)
			}
			left -= n
		case c>>14&1 == 0:
			n := min(14, left)
			for k := range n {
				emit(c >> (13 - k) & 1)
			}
			left -= n
		default:
			n := min(7, left)
			for k := range n {
				emit(c >> (12 - 2*k) & 3)
			}
			left -= n
		}
	}
}

// eachRTCP calls fn with every packet of a compound RTCP packet (header
// included) until one is malformed.
func eachRTCP(b []byte, fn func(h rtcp.Header, pkt []byte)) {
	for len(b) >= 4 {
		var h rtcp.Header
		if h.Unmarshal(b) != nil {
			return
		}
		end := 4 * (int(h.Length) + 1)
		if end > len(b) {
			return
		}
		fn(h, b[:end])
		b = b[end:]
	}
}

// isTWCC tells transport-cc feedback from other RTCP.
func isTWCC(h rtcp.Header) bool {
	return h.Type == rtcp.TypeTransportSpecificFeedback && h.Count == rtcp.FormatTCC
}
