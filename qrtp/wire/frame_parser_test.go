package wire

import (
	"bytes"
	"errors"
	"testing"
)

// roundTrip encodes f, parses it back and checks that re-encoding gives the
// same bytes and that parsing did not allocate.
func roundTrip(t *testing.T, f *Frame) *Frame {
	t.Helper()
	b := f.Append(nil)
	var got Frame
	n, err := ParseFrame(b, &got)
	if err != nil {
		t.Fatalf("%#x: parse: %v", f.Type, err)
	}
	if n != len(b) || got.Type != f.Type {
		t.Fatalf("%#x: n %d of %d, type %#x", f.Type, n, len(b), got.Type)
	}
	if again := got.Append(nil); !bytes.Equal(again, b) {
		t.Fatalf("%#x: re-encoded %x, want %x", f.Type, again, b)
	}
	if allocs := testing.AllocsPerRun(20, func() { _, _ = ParseFrame(b, &got) }); allocs != 0 {
		t.Errorf("%#x: %v allocs per parse", f.Type, allocs)
	}
	return &got
}

// fuzzFrames is the shared body of the per-frame fuzz targets: whatever
// parses must re-encode to something that parses to the same encoding, and
// nothing may panic or claim more bytes than it was given.
func fuzzFrames(f *testing.F, seeds ...*Frame) {
	for _, s := range seeds {
		f.Add(s.Append(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr Frame
		n, err := ParseFrame(b, &fr)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("n %d of %d", n, len(b))
		}
		e1 := fr.Append(nil)
		var fr2 Frame
		n2, err := ParseFrame(e1, &fr2)
		if err != nil || n2 != len(e1) {
			t.Fatalf("re-parse: %v (%d of %d)", err, n2, len(e1))
		}
		if e2 := fr2.Append(nil); !bytes.Equal(e1, e2) {
			t.Fatalf("unstable encoding %x vs %x", e1, e2)
		}
	})
}

func TestParseFrameUnknown(t *testing.T) {
	var f Frame
	for _, b := range [][]byte{{0x1f}, {0x40, 0x30}, {0x3f}} {
		if _, err := ParseFrame(b, &f); !errors.Is(err, ErrUnknownFrame) {
			t.Errorf("%x: %v", b, err)
		}
	}
	if _, err := ParseFrame(nil, &f); !errors.Is(err, ErrTruncated) {
		t.Errorf("empty: %v", err)
	}
}

func TestParseFrameTruncatedEverywhere(t *testing.T) {
	for _, f := range sampleFrames() {
		b := f.Append(nil)
		for i := 0; i < len(b); i++ {
			var got Frame
			n, err := ParseFrame(b[:i], &got)
			// A STREAM/MESSAGE/DATAGRAM without length may legally end early,
			// but these samples all carry lengths, so every prefix must fail
			// (PADDING and PING are one byte and have no proper prefix).
			if err == nil {
				t.Errorf("%#x: prefix %d/%d parsed (n=%d)", f.Type, i, len(b), n)
			}
		}
	}
}

func TestPacketOfFrames(t *testing.T) {
	var b []byte
	for _, f := range sampleFrames() {
		b = f.Append(b)
	}
	var got Frame
	i := 0
	samples := sampleFrames()
	for off := 0; off < len(b); i++ {
		n, err := ParseFrame(b[off:], &got)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.Type != samples[i].Type {
			t.Fatalf("frame %d: type %#x want %#x", i, got.Type, samples[i].Type)
		}
		off += n
	}
	if i != len(samples) {
		t.Fatalf("parsed %d frames of %d", i, len(samples))
	}
}

func sampleFrames() []*Frame {
	return []*Frame{
		{Type: FramePing},
		{Type: FrameAck, Ack: AckFrame{Delay: 1234 * 1000, Ranges: []AckRange{{90, 100}, {50, 80}, {0, 10}}}},
		{Type: FrameStreamReset, StreamReset: StreamResetFrame{StreamID: 4, Code: 9, FinalSize: 1 << 20}},
		{Type: FrameMaxData, MaxData: MaxDataFrame{Max: 1 << 30}},
		{Type: FrameMaxStreamData, MaxStreamData: MaxStreamDataFrame{StreamID: 12, Max: 1 << 24}},
		{Type: FrameMaxStreams, MaxStreams: MaxStreamsFrame{Max: 100}},
		{Type: FrameConnectionClose, Close: ConnectionCloseFrame{Code: 3, Reason: []byte("bye")}},
		{Type: FrameStream, Stream: StreamFrame{StreamID: 8, Offset: 1000, Fin: true, Data: []byte("hello")}},
		{Type: FrameMessage, Message: MessageFrame{StreamID: 10, Seq: 7, Total: 9000, Offset: 1200, Data: []byte("frag")}},
		{Type: FrameMessageExpired, MessageExpired: MessageExpiredFrame{StreamID: 10, FirstSeq: 7, Count: 3}},
		{Type: FrameDatagram, Datagram: DatagramFrame{StreamID: 20, Data: []byte("dgram")}},
		{Type: FrameNewConnectionID, NewConnectionID: NewConnectionIDFrame{Seq: 2, RetirePriorTo: 1, ID: ConnectionID{1, 2, 3}}},
		{Type: FramePathChallenge, PathChallenge: PathChallengeFrame{Data: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}},
		{Type: FramePathResponse, PathResponse: PathResponseFrame{Data: [8]byte{8, 7, 6, 5, 4, 3, 2, 1}}},
		{Type: FrameFECRepair, FECRepair: FECRepairFrame{GroupID: 5, Index: 4, K: 3, N: 5, Packets: []uint64{10, 12, 13}, Symbol: []byte("sym")}},
		{Type: FrameFECRecovered, FECRecovered: FECRecoveredFrame{Packets: []uint64{3, 9, 10}}},
	}
}

func TestAllFramesRoundTrip(t *testing.T) {
	for _, f := range sampleFrames() {
		roundTrip(t, f)
	}
}

func BenchmarkParseFrames(b *testing.B) {
	var pkt []byte
	for _, f := range sampleFrames() {
		pkt = f.Append(pkt)
	}
	var f Frame
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(pkt); {
			n, err := ParseFrame(pkt[off:], &f)
			if err != nil {
				b.Fatal(err)
			}
			off += n
		}
	}
}

func BenchmarkAppendFrames(b *testing.B) {
	frames := sampleFrames()
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, f := range frames {
			buf = f.Append(buf)
		}
	}
}
