package wire

import (
	"errors"
	"slices"
	"testing"
)

func TestFECRepairFrame(t *testing.T) {
	r := FECRepairFrame{GroupID: 1 << 20, Index: 6, K: 4, N: 8, Packets: []uint64{100, 101, 150, 1 << 32}, Symbol: make([]byte, 1200)}
	got := roundTrip(t, &Frame{Type: FrameFECRepair, FECRepair: r})
	if !slices.Equal(got.FECRepair.Packets, r.Packets) || got.FECRepair.K != 4 || got.FECRepair.Index != 6 {
		t.Fatalf("%+v", got.FECRepair)
	}
	for _, bad := range []FECRepairFrame{
		{K: 0, N: 1, Index: 0},
		{K: 2, N: 2, Index: 1, Packets: []uint64{1, 2}},
		{K: 2, N: 3, Index: 1, Packets: []uint64{1, 2}},                                  // index is a source index
		{K: MaxFECGroup + 1, N: 255, Index: 200, Packets: make([]uint64, MaxFECGroup+1)}, // too big a group
		{K: 2, N: 3, Index: 2, Packets: []uint64{5, 5}},                                  // not increasing
	} {
		var f Frame
		if _, err := ParseFrame(bad.Append(nil), &f); !errors.Is(err, ErrMalformed) {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestFECRecoveredFrame(t *testing.T) {
	got := roundTrip(t, &Frame{Type: FrameFECRecovered, FECRecovered: FECRecoveredFrame{Packets: []uint64{7, 8, 1000}}})
	if !slices.Equal(got.FECRecovered.Packets, []uint64{7, 8, 1000}) {
		t.Fatal(got.FECRecovered)
	}
	var f Frame
	if _, err := ParseFrame([]byte{0x1d, 0}, &f); err == nil {
		t.Error("empty list accepted")
	}
	pns := []uint64{7, 8, 1000, 1 << 40}
	fr := FECRecoveredFrame{Packets: pns}
	if n := len(fr.Append(nil)); n != FECRecoveredLen(pns) {
		t.Errorf("encoded in %d bytes, FECRecoveredLen says %d", n, FECRecoveredLen(pns))
	}
	// Acknowledgement information, like ACK: a packet of only that is not
	// acknowledged, so reports cannot ping-pong.
	if FrameFECRecovered.AckEliciting() || !FrameFECRepair.AckEliciting() {
		t.Error("FEC_RECOVERED must not elicit an ACK; FEC_REPAIR must")
	}
}

func FuzzFECRepairFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameFECRepair, FECRepair: FECRepairFrame{GroupID: 1, Index: 2, K: 2, N: 3, Packets: []uint64{4, 6}, Symbol: []byte("s")}})
}

func FuzzFECRecoveredFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameFECRecovered, FECRecovered: FECRecoveredFrame{Packets: []uint64{1, 3}}})
}
