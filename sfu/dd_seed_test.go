package sfu

import (
	"encoding/hex"
	"testing"
)

// Descriptors headless Chromium 156 sent for AV1 with scalabilityMode
// L3T3_KEY at 640x360 (it encodes two spatial layers there, L2T3_KEY):
// the key frame's, with the structure, and later frames'.
const (
	ddChromiumKey  = "c00001800514853aaaa8018004004002a02a0060010015d34514174d144c700874321651118543276809f8059813f80b38"
	ddChromiumS0T0 = "c10009" // S0T0: a switch point of the S0 targets
	ddChromiumS1T1 = "c70006"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// ddChromiumSeeds are seeds for FuzzParseDD: a key frame's descriptor,
// then a later frame's.
var ddChromiumSeeds = [][2][]byte{
	{mustHex(ddChromiumKey), mustHex(ddChromiumS0T0)},
	{mustHex(ddChromiumKey), mustHex(ddChromiumS1T1)},
}

// TestParseDDChromium: Chromium's L2T3_KEY structure: six decode targets
// (S0T0..S1T2), two chains, the two resolutions; its frames resolve to
// their layers and switch points.
func TestParseDDChromium(t *testing.T) {
	k, err := parseDD(mustHex(ddChromiumKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := k.structure
	if s == nil || s.dtCnt != 6 || len(s.templates) != 10 || s.chainCnt != 2 || s.maxSpatial != 1 {
		t.Fatalf("structure %+v", s)
	}
	if len(s.resolutions) != 2 || s.resolutions[0] != [2]uint16{320, 180} || s.resolutions[1] != [2]uint16{640, 360} {
		t.Fatalf("resolutions %v", s.resolutions)
	}
	if !k.start || !k.end || k.spatial != 0 || k.temporal != 0 || k.frameNumber != 1 {
		t.Fatalf("key frame %+v", k)
	}
	for d := range 6 {
		if k.dti[d] != dtiSwitch {
			t.Fatalf("key frame DTIs %v", k.dti[:6])
		}
	}
	if s.target(0, allTemporal, 0) != 2 || s.target(1, allTemporal, 0) != 5 || s.target(2, allTemporal, 0) != 5 {
		t.Fatalf("targets %d %d %d", s.target(0, allTemporal, 0), s.target(1, allTemporal, 0), s.target(2, allTemporal, 0))
	}
	f, err := parseDD(mustHex(ddChromiumS0T0), s)
	if err != nil || f.spatial != 0 || f.temporal != 0 || f.dti[2] != dtiSwitch || f.dti[5] != dtiNotPresent {
		t.Fatalf("S0T0 frame %+v %v", f, err)
	}
	g, err := parseDD(mustHex(ddChromiumS1T1), s)
	if err != nil || g.spatial != 1 || g.temporal != 1 || g.dti[2] != dtiNotPresent || g.dti[5] != dtiSwitch {
		t.Fatalf("S1T1 frame %+v %v", g, err)
	}
}
