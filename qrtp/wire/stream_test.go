package wire

import (
	"bytes"
	"testing"
)

func TestStreamFrameForms(t *testing.T) {
	for _, sf := range []StreamFrame{
		{StreamID: 0, Offset: 0, Data: []byte("x")},
		{StreamID: 1 << 40, Offset: 1 << 50, Fin: true, Data: bytes.Repeat([]byte{1}, 3000)},
		{StreamID: 3, Offset: 9, Fin: true},
	} {
		b := sf.Append(nil, true)
		if want := StreamFrameOverhead(sf.StreamID, sf.Offset, len(sf.Data)) + len(sf.Data); len(b) != want {
			t.Errorf("len %d want %d", len(b), want)
		}
		roundTrip(t, &Frame{Type: FrameStream, Stream: sf})
		// Without a length the data runs to the end.
		var f Frame
		b = sf.Append(nil, false)
		n, err := ParseFrame(b, &f)
		if err != nil || n != len(b) || !bytes.Equal(f.Stream.Data, sf.Data) || f.Stream.Fin != sf.Fin || f.Stream.Offset != sf.Offset {
			t.Errorf("no-len form: %v %+v", err, f.Stream)
		}
	}
}

func FuzzStreamFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameStream, Stream: StreamFrame{StreamID: 4, Offset: 7, Fin: true, Data: []byte("abc")}})
}

func TestStreamFrameAppendHeader(t *testing.T) {
	f := StreamFrame{StreamID: 9, Offset: 70000, Fin: true}
	data := []byte("payload")
	b := append(f.AppendHeader(nil, len(data)), data...)
	f.Data = data
	if want := f.Append(nil, true); !bytes.Equal(b, want) {
		t.Fatalf("%x != %x", b, want)
	}
	m := MessageFrame{StreamID: 2, Seq: 3, Total: 100, Offset: 50}
	b = append(m.AppendHeader(nil, len(data)), data...)
	m.Data = data
	if want := m.Append(nil, true); !bytes.Equal(b, want) {
		t.Fatalf("message %x != %x", b, want)
	}
}
