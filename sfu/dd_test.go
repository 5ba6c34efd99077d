package sfu

import (
	"errors"
	"testing"
)

// ddBits writes bits most significant first (tests build descriptors).
type ddBits struct {
	b []byte
	n int
}

func (w *ddBits) put(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>i&1 == 1 {
			w.b[len(w.b)-1] |= 0x80 >> (w.n % 8)
		}
		w.n++
	}
}

// l2t2Key describes an L2T2_KEY-like stream: templates S0T0 (key), S0T0,
// S0T1, S1T0 (key), S1T0, S1T1; decode targets S0T0, S0T1, S1T0, S1T1;
// two chains; resolutions 320x180 and 640x360.
type testTemplate struct {
	dti    [4]uint8
	fdiffs []uint16
	chains [2]uint32 // frame_chain_fdiff of chains 0 (S0) and 1 (S1)
}

var l2t2Templates = []struct {
	next uint32 // next_layer_idc after this template
	t    testTemplate
}{
	{0, testTemplate{[4]uint8{dtiSwitch, dtiSwitch, dtiSwitch, dtiSwitch}, nil, [2]uint32{}}},                              // S0T0 key
	{1, testTemplate{[4]uint8{dtiSwitch, dtiSwitch, dtiNotPresent, dtiNotPresent}, []uint16{4}, [2]uint32{4, 0}}},          // S0T0
	{2, testTemplate{[4]uint8{dtiNotPresent, dtiDiscardable, dtiNotPresent, dtiNotPresent}, []uint16{1}, [2]uint32{1, 0}}}, // S0T1
	{0, testTemplate{[4]uint8{dtiNotPresent, dtiNotPresent, dtiSwitch, dtiSwitch}, []uint16{1}, [2]uint32{1, 0}}},          // S1T0 key
	{1, testTemplate{[4]uint8{dtiNotPresent, dtiNotPresent, dtiSwitch, dtiSwitch}, []uint16{4}, [2]uint32{0, 4}}},          // S1T0
	{3, testTemplate{[4]uint8{dtiNotPresent, dtiNotPresent, dtiNotPresent, dtiDiscardable}, []uint16{1}, [2]uint32{1, 1}}}, // S1T1
}

// buildDD builds a descriptor: the mandatory fields, and with structure
// the L2T2 structure (template ID offset 10) attached.
func buildDD(start, end bool, templateIdx int, frame uint16, structure bool, active int) []byte {
	w := &ddBits{}
	b := func(v bool) uint32 {
		if v {
			return 1
		}
		return 0
	}
	w.put(b(start), 1)
	w.put(b(end), 1)
	w.put(uint32((templateIdx+10)%64), 6)
	w.put(uint32(frame), 16)
	if !structure && active < 0 {
		return w.b
	}
	w.put(b(structure), 1)
	w.put(b(active >= 0), 1)
	w.put(0, 3) // no custom DTIs, fdiffs, chains
	if structure {
		w.put(10, 6) // template_id_offset
		w.put(3, 5)  // four decode targets
		for _, t := range l2t2Templates {
			w.put(t.next, 2)
		}
		for _, t := range l2t2Templates {
			for _, d := range t.t.dti {
				w.put(uint32(d), 2)
			}
		}
		for _, t := range l2t2Templates {
			for _, f := range t.t.fdiffs {
				w.put(1, 1)
				w.put(uint32(f-1), 4)
			}
			w.put(0, 1)
		}
		w.put(2, 2) // chain_cnt = ns(5) = 2: w=3, m=3, v=f(2)=2 < m
		for _, c := range []uint32{0, 0, 1, 1} {
			w.put(c, 1) // ns(2): w=2, m=2, one bit
		}
		for _, t := range l2t2Templates {
			w.put(t.t.chains[0], 4)
			w.put(t.t.chains[1], 4)
		}
		w.put(1, 1) // resolutions
		for _, r := range [][2]uint32{{320, 180}, {640, 360}} {
			w.put(r[0]-1, 16)
			w.put(r[1]-1, 16)
		}
	}
	if active >= 0 {
		w.put(uint32(active), 4)
	}
	return w.b
}

func TestParseDDStructure(t *testing.T) {
	f, err := parseDD(buildDD(true, false, 0, 7, true, -1), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := f.structure
	if s == nil || !f.keyframe() || !f.start || f.end || f.frameNumber != 7 {
		t.Fatalf("frame %+v", f)
	}
	if len(s.templates) != 6 || s.dtCnt != 4 || s.maxSpatial != 1 || s.chainCnt != 2 {
		t.Fatalf("structure: %d templates, %d targets, max S%d, %d chains", len(s.templates), s.dtCnt, s.maxSpatial, s.chainCnt)
	}
	if s.protectedBy[2] != 1 || s.protectedBy[0] != 0 {
		t.Fatalf("chains %v", s.protectedBy[:4])
	}
	if got := s.resolutions; len(got) != 2 || got[0] != [2]uint16{320, 180} || got[1] != [2]uint16{640, 360} {
		t.Fatalf("resolutions %v", got)
	}
	wantS, wantT := [4]uint8{0, 0, 1, 1}, [4]uint8{0, 1, 0, 1}
	for d := range 4 {
		if s.dtSpatial[d] != wantS[d] || s.dtTemporal[d] != wantT[d] {
			t.Fatalf("decode target %d: S%dT%d", d, s.dtSpatial[d], s.dtTemporal[d])
		}
	}
	if f.active != 0xf || !f.hasActive {
		t.Fatalf("active %b", f.active)
	}
	// Decode target choice: the highest temporal layer of the spatial one.
	if s.target(0, allTemporal, 0) != 1 || s.target(1, allTemporal, 0) != 3 || s.target(5, allTemporal, 0) != 3 || s.target(1, allTemporal, 0b0011) != 1 {
		t.Fatalf("targets %d %d %d %d", s.target(0, allTemporal, 0), s.target(1, allTemporal, 0), s.target(5, allTemporal, 0), s.target(1, allTemporal, 0b0011))
	}
	if s.target(-1, allTemporal, 0) != -1 {
		t.Fatal("a negative spatial layer has a target")
	}

	// Later packets use the kept structure.
	g, err := parseDD(buildDD(true, true, 5, 9, false, -1), s)
	if err != nil {
		t.Fatal(err)
	}
	if g.structure != nil || g.spatial != 1 || g.temporal != 1 || g.dti[3] != dtiDiscardable || g.dti[0] != dtiNotPresent || g.nFdiffs != 1 || g.fdiffs[0] != 1 {
		t.Fatalf("frame %+v", g)
	}
	h, err := parseDD(buildDD(false, true, 1, 9, false, 0b0011), s)
	if err != nil || !h.hasActive || h.active != 0b0011 {
		t.Fatalf("active targets %+v %v", h, err)
	}
}

func TestParseDDErrors(t *testing.T) {
	if _, err := parseDD([]byte{0x80, 0, 1}, nil); !errors.Is(err, errDDNoStructure) {
		t.Fatalf("no structure: %v", err)
	}
	if _, err := parseDD([]byte{0x80, 0}, nil); !errors.Is(err, errDDShort) {
		t.Fatalf("short: %v", err)
	}
	full := buildDD(true, false, 0, 7, true, -1)
	for n := 4; n < len(full)-1; n++ {
		if _, err := parseDD(full[:n], nil); err == nil {
			t.Fatalf("truncated to %d bytes parsed", n)
		}
	}
	f, _ := parseDD(full, nil)
	// Template index beyond the structure's templates.
	bad := buildDD(true, false, 40, 7, false, -1)
	if _, err := parseDD(bad, f.structure); !errors.Is(err, errDDBad) {
		t.Fatalf("template out of range: %v", err)
	}
	// Endless spatial layers are refused.
	w := &ddBits{}
	w.put(0x80, 8)
	w.put(0, 16)
	w.put(0b10000, 5)
	w.put(0, 6)
	w.put(0, 5)
	for range 10 {
		w.put(2, 2)
	}
	if _, err := parseDD(w.b, nil); !errors.Is(err, errDDBad) {
		t.Fatalf("too many spatial layers: %v", err)
	}
}

// FuzzParseDD parses a descriptor that may attach a structure, then a
// second one against it: errors, never panics; a structure stays within
// its bounds.
func FuzzParseDD(f *testing.F) {
	f.Add(buildDD(true, false, 0, 7, true, -1), buildDD(true, true, 5, 9, false, -1))
	f.Add(buildDD(true, true, 3, 1, true, 0b0101), buildDD(false, true, 1, 2, false, 0b0011))
	f.Add([]byte{0x80, 0, 1}, []byte{0xc0, 0, 1, 0x08})
	for _, c := range ddChromiumSeeds {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		a, err := parseDD(first, nil)
		var s *ddStructure
		if err == nil {
			s = a.structure
			if s == nil || s.dtCnt < 1 || s.dtCnt > ddMaxDecodeTargets || len(s.templates) > ddMaxTemplates || int(s.maxSpatial) >= ddMaxSpatial {
				t.Fatalf("structure out of bounds: %+v", s)
			}
			for sid := -1; sid < 5; sid++ {
				if d := s.target(sid, allTemporal, a.active); d >= s.dtCnt {
					t.Fatalf("target %d of %d", d, s.dtCnt)
				}
			}
		}
		if b, err := parseDD(second, s); err == nil && b.structure == nil && s == nil {
			t.Fatal("parsed without a structure")
		}
	})
}
