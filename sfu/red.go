package sfu

import "errors"

// Errors from parseRED.
var (
	errREDShort    = errors.New("sfu: red payload truncated")
	errREDTooMany  = errors.New("sfu: red payload has too many blocks")
	errREDOverflow = errors.New("sfu: red block lengths exceed payload")
)

// maxREDBlocks bounds the work one RED packet can cause. Browsers send one or
// two redundant blocks.
const maxREDBlocks = 16

// redBlock is one block of an RFC 2198 payload. The primary block is the last
// one and has tsOffset 0.
type redBlock struct {
	pt       uint8
	tsOffset uint16 // how far the block's timestamp lies before the packet's
	data     []byte
	hdrOff   int // offset of the block header byte holding PT in the payload
	n        int // block length from the header (redundant blocks)
}

// parseRED splits an RFC 2198 payload into its blocks, appended to dst
// (which may be reused between calls). The data slices alias payload.
func parseRED(payload []byte, dst []redBlock) ([]redBlock, error) {
	dst = dst[:0]
	i := 0
	total := 0
	for {
		if i >= len(payload) {
			return dst, errREDShort
		}
		if len(dst) == maxREDBlocks {
			return dst, errREDTooMany
		}
		b := payload[i]
		if b&0x80 == 0 { // last header: primary block
			dst = append(dst, redBlock{pt: b & 0x7f, hdrOff: i})
			i++
			break
		}
		if i+4 > len(payload) {
			return dst, errREDShort
		}
		ts := uint16(payload[i+1])<<6 | uint16(payload[i+2])>>2
		n := int(payload[i+2]&0x03)<<8 | int(payload[i+3])
		dst = append(dst, redBlock{pt: b & 0x7f, tsOffset: ts, n: n, hdrOff: i})
		total += n
		i += 4
	}
	if total > len(payload)-i {
		return dst, errREDOverflow
	}
	off := i
	for k := range dst[:len(dst)-1] {
		n := dst[k].n
		dst[k].data = payload[off : off+n]
		off += n
	}
	dst[len(dst)-1].data = payload[off:]
	return dst, nil
}

// setREDPayloadTypes sets, in buf (a copy of the payload the blocks were
// parsed from), every block's payload type to pt. RED carries the inner
// codec's payload type in each block header, and the publisher's and the
// subscriber's numbering of Opus may differ; browsers put only Opus in RED.
func setREDPayloadTypes(buf []byte, blocks []redBlock, pt uint8) {
	for _, b := range blocks {
		buf[b.hdrOff] = buf[b.hdrOff]&0x80 | pt&0x7f
	}
}
