package whip

import (
	"bytes"
	"testing"
)

func TestParseFrag(t *testing.T) {
	f, err := parseFrag("a=ice-ufrag:abcd\r\na=ice-pwd:secretsecretsecret\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host\r\na=end-of-candidates\r\n")
	if err != nil || f.ufrag != "abcd" || len(f.cands) != 1 || *f.cands[0].SDPMid != "0" || *f.cands[0].SDPMLineIndex != 0 || !f.end {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := parseFrag("hello"); err == nil {
		t.Fatal("a fragment without candidates was accepted")
	}
}

func TestREDPrimary(t *testing.T) {
	// One redundant block of 3 bytes (PT 111, offset 960), then the primary.
	red := []byte{0x80 | 111, 0x0f, 0x00, 0x03, 111, 1, 2, 3, 9, 9}
	if p, ok := redPrimary(red); !ok || !bytes.Equal(p, []byte{9, 9}) {
		t.Fatalf("%v %v", p, ok)
	}
	if _, ok := redPrimary([]byte{0x80 | 111, 0, 0, 50, 111}); ok {
		t.Fatal("a block longer than the payload was accepted")
	}
}

// FuzzParseFrag: no fragment panics the parser or yields more candidates
// than the bound.
func FuzzParseFrag(f *testing.F) {
	f.Add("a=ice-ufrag:x\r\na=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n")
	f.Add("m=video\na=end-of-candidates")
	f.Fuzz(func(t *testing.T, s string) {
		fr, err := parseFrag(s)
		if err == nil && len(fr.cands) > maxFragCandidates {
			t.Fatalf("%d candidates", len(fr.cands))
		}
	})
}

// FuzzREDPrimary: no payload panics the RED parser; the primary is a
// suffix of the payload.
func FuzzREDPrimary(f *testing.F) {
	f.Add([]byte{0x80 | 111, 0x0f, 0x00, 0x03, 111, 1, 2, 3, 9, 9})
	f.Add([]byte{111, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, ok := redPrimary(b); ok && !bytes.HasSuffix(b, p) {
			t.Fatal("primary is not a suffix")
		}
	})
}

func TestOfferKinds(t *testing.T) {
	sdp := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
	if k := offerKinds(sdp); !k["audio"] || !k["video"] || len(k) != 2 {
		t.Errorf("offerKinds = %v", k)
	}
	if k := offerKinds("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"); k["audio"] || !k["video"] {
		t.Errorf("video only: %v", k)
	}
}
