package sfu

import (
	"errors"
	"fmt"
)

// The dependency descriptor (DD) RTP header extension of the AV1 RTP
// specification (appendix A), which Chromium sends with AV1 (and
// negotiates by default): every packet says which frame it belongs to,
// whether it starts or ends it, and, through a template of a structure
// sent with key frames, the frame's spatial and temporal layer and its
// decode target indications (DTIs): for each decode target (a spatial
// and temporal layer a receiver may decode, e.g. S1T2), whether the frame
// is not present in it, discardable, a switch point, or required. The
// forwarding path uses it to drop the layers a subscriber does not need
// (svc.go) without parsing AV1 itself.

// ddURI is the extension's URI in SDP.
const ddURI = "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"

// Decode target indications (AV1 RTP specification, table A.1).
const (
	dtiNotPresent  = 0
	dtiDiscardable = 1
	dtiSwitch      = 2
	dtiRequired    = 3
)

// Bounds that keep a hostile descriptor from costing memory: AV1 has at
// most 4 spatial and 8 temporal layers; template IDs have 6 bits; the
// extension is at most 255 bytes.
const (
	ddMaxDecodeTargets = 32
	ddMaxTemplates     = 64
	ddMaxSpatial       = 4
	ddMaxTemporal      = 8
	ddMaxFdiffs        = 8
	ddMaxBytes         = 255
)

var (
	errDDShort       = errors.New("sfu: dependency descriptor truncated")
	errDDNoStructure = errors.New("sfu: dependency descriptor refers to a template structure not received yet")
	errDDBad         = errors.New("sfu: dependency descriptor malformed")
)

// ddTemplate is one frame template of a structure.
type ddTemplate struct {
	spatial, temporal uint8
	dti               [ddMaxDecodeTargets]uint8
	nFdiffs           int
	fdiffs            [ddMaxFdiffs]uint16
	chainFdiff        [ddMaxDecodeTargets]uint8
}

// ddStructure is a template dependency structure: what a stream's frames
// can look like, sent with key frames. A stream keeps the latest one.
type ddStructure struct {
	idOffset  uint8
	dtCnt     int
	templates []ddTemplate
	chainCnt  int
	// protectedBy is the chain protecting each decode target.
	protectedBy [ddMaxDecodeTargets]uint8
	// dtSpatial and dtTemporal are each decode target's highest layers.
	dtSpatial, dtTemporal [ddMaxDecodeTargets]uint8
	maxSpatial            uint8
	// resolutions are the render sizes per spatial layer (nil if absent).
	resolutions [][2]uint16
}

// ddFrame is one packet's descriptor, resolved against a structure.
type ddFrame struct {
	start, end  bool // the packet starts / ends its frame
	templateID  uint8
	frameNumber uint16
	spatial     uint8
	temporal    uint8
	dtCnt       int
	dti         [ddMaxDecodeTargets]uint8
	nFdiffs     int
	fdiffs      [ddMaxFdiffs]uint16
	// chains: per chain, how many frames back the chain's previous frame
	// is (0: the chain starts here).
	chains [ddMaxDecodeTargets]uint8
	// structure is the one this packet attached (nil: it used the
	// previous one).
	structure *ddStructure
	// active is the active decode targets bitmask, valid with hasActive
	// (attached, or reset to all by a new structure).
	active    uint32
	hasActive bool
}

// keyframe: a frame that attaches a structure starts the stream anew
// (Chromium attaches it to key frames) and is a switch point for every
// decode target.
func (f *ddFrame) keyframe() bool { return f.structure != nil }

// ddReader reads bits most significant first.
type ddReader struct {
	b   []byte
	pos int // in bits
	err error
}

func (r *ddReader) bits(n int) uint32 {
	if r.err != nil {
		return 0
	}
	if n < 0 || r.pos+n > len(r.b)*8 {
		r.err = errDDShort
		return 0
	}
	var v uint32
	for range n {
		bit := r.b[r.pos>>3] >> (7 - r.pos&7) & 1
		v = v<<1 | uint32(bit)
		r.pos++
	}
	return v
}

func (r *ddReader) flag() bool { return r.bits(1) == 1 }

// ns reads a non-symmetric unsigned value below n (specification §4.10.7
// of AV1, as the DD uses it).
func (r *ddReader) ns(n uint32) uint32 {
	w := 0
	for x := n; x != 0; x >>= 1 {
		w++
	}
	if w == 0 {
		return 0
	}
	m := uint32(1)<<w - n
	v := r.bits(w - 1)
	if v < m {
		return v
	}
	return v<<1 - m + r.bits(1)
}

// parseDD parses one packet's descriptor. prev is the stream's latest
// structure (nil before one arrived); a structure the packet attaches is
// returned in the frame and must be kept by the caller for later packets.
func parseDD(b []byte, prev *ddStructure) (ddFrame, error) {
	var f ddFrame
	if len(b) < 3 {
		return f, errDDShort
	}
	if len(b) > ddMaxBytes {
		return f, fmt.Errorf("%w: %d bytes", errDDBad, len(b))
	}
	r := &ddReader{b: b}
	f.start, f.end = r.flag(), r.flag()
	f.templateID = uint8(r.bits(6))
	f.frameNumber = uint16(r.bits(16))
	var customDTIs, customFdiffs, customChains bool
	st := prev
	if len(b) > 3 {
		hasStructure, hasActive := r.flag(), r.flag()
		customDTIs, customFdiffs, customChains = r.flag(), r.flag(), r.flag()
		if hasStructure {
			s, err := parseDDStructure(r)
			if err != nil {
				return f, err
			}
			st, f.structure = s, s
			f.active, f.hasActive = uint32(1<<s.dtCnt-1), true
		}
		if hasActive {
			if st == nil {
				return f, errDDNoStructure
			}
			f.active, f.hasActive = r.bits(st.dtCnt), true
		}
	}
	if st == nil {
		return f, errDDNoStructure
	}
	idx := (int(f.templateID) + 64 - int(st.idOffset)) % 64
	if idx >= len(st.templates) {
		return f, fmt.Errorf("%w: template %d of %d", errDDBad, idx, len(st.templates))
	}
	t := &st.templates[idx]
	f.spatial, f.temporal, f.dtCnt = t.spatial, t.temporal, st.dtCnt
	f.dti = t.dti
	if customDTIs {
		for i := range st.dtCnt {
			f.dti[i] = uint8(r.bits(2))
		}
	}
	f.nFdiffs, f.fdiffs = t.nFdiffs, t.fdiffs
	if customFdiffs {
		f.nFdiffs = 0
		for size := r.bits(2); size != 0 && r.err == nil; size = r.bits(2) {
			if f.nFdiffs == ddMaxFdiffs {
				return f, fmt.Errorf("%w: more than %d frame references", errDDBad, ddMaxFdiffs)
			}
			f.fdiffs[f.nFdiffs] = uint16(r.bits(4*int(size)) + 1)
			f.nFdiffs++
		}
	}
	f.chains = t.chainFdiff
	if customChains {
		for c := range st.chainCnt {
			f.chains[c] = uint8(r.bits(8))
		}
	}
	if r.err != nil {
		return f, r.err
	}
	return f, nil
}

// parseDDStructure reads template_dependency_structure().
func parseDDStructure(r *ddReader) (*ddStructure, error) {
	s := &ddStructure{idOffset: uint8(r.bits(6)), dtCnt: int(r.bits(5)) + 1}
	// template_layers
	var sid, tid uint8
	for {
		if len(s.templates) == ddMaxTemplates {
			return nil, fmt.Errorf("%w: more than %d templates", errDDBad, ddMaxTemplates)
		}
		s.templates = append(s.templates, ddTemplate{spatial: sid, temporal: tid})
		next := r.bits(2)
		if r.err != nil {
			return nil, r.err
		}
		if next == 3 {
			break
		}
		switch next {
		case 1:
			tid++
		case 2:
			tid, sid = 0, sid+1
		}
		if sid >= ddMaxSpatial || tid >= ddMaxTemporal {
			return nil, fmt.Errorf("%w: layer S%dT%d", errDDBad, sid, tid)
		}
	}
	s.maxSpatial = sid
	for i := range s.templates { // template_dtis
		for d := range s.dtCnt {
			s.templates[i].dti[d] = uint8(r.bits(2))
		}
	}
	for i := range s.templates { // template_fdiffs
		t := &s.templates[i]
		for r.flag() {
			if t.nFdiffs == ddMaxFdiffs {
				return nil, fmt.Errorf("%w: more than %d template references", errDDBad, ddMaxFdiffs)
			}
			t.fdiffs[t.nFdiffs] = uint16(r.bits(4) + 1)
			t.nFdiffs++
		}
	}
	s.chainCnt = int(r.ns(uint32(s.dtCnt) + 1)) // template_chains
	if s.chainCnt > 0 {
		for d := range s.dtCnt {
			s.protectedBy[d] = uint8(r.ns(uint32(s.chainCnt)))
		}
		for i := range s.templates {
			for c := range s.chainCnt {
				s.templates[i].chainFdiff[c] = uint8(r.bits(4))
			}
		}
	}
	s.decodeTargetLayers()
	if r.flag() { // resolutions_present_flag
		s.resolutions = make([][2]uint16, s.maxSpatial+1)
		for i := range s.resolutions {
			s.resolutions[i] = [2]uint16{uint16(r.bits(16) + 1), uint16(r.bits(16) + 1)}
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}

// decodeTargetLayers works out each decode target's highest spatial and
// temporal layer: those of the templates present in it.
func (s *ddStructure) decodeTargetLayers() {
	for d := range s.dtCnt {
		var sid, tid uint8
		for i := range s.templates {
			t := &s.templates[i]
			if t.dti[d] != dtiNotPresent {
				sid, tid = max(sid, t.spatial), max(tid, t.temporal)
			}
		}
		s.dtSpatial[d], s.dtTemporal[d] = sid, tid
	}
}

// target picks the decode target for spatial layer sid and temporal
// layer tid, among those active (bitmask; 0 counts all): the one with the
// highest spatial layer not above sid, then the highest temporal layer
// not above tid. It returns -1 when none fits.
func (s *ddStructure) target(sid, tid int, active uint32) int {
	best := -1
	for d := range s.dtCnt {
		if active != 0 && active&(1<<d) == 0 || int(s.dtSpatial[d]) > sid || int(s.dtTemporal[d]) > tid {
			continue
		}
		if best < 0 || s.dtSpatial[d] > s.dtSpatial[best] ||
			s.dtSpatial[d] == s.dtSpatial[best] && s.dtTemporal[d] > s.dtTemporal[best] {
			best = d
		}
	}
	return best
}
