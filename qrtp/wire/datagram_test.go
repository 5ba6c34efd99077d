package wire

import "testing"

func TestDatagramFrame(t *testing.T) {
	d := DatagramFrame{StreamID: 14, Data: []byte("unreliable")}
	if b := d.Append(nil, true); len(b) != DatagramFrameOverhead(14, len(d.Data))+len(d.Data) {
		t.Errorf("overhead mismatch")
	}
	roundTrip(t, &Frame{Type: FrameDatagram, Datagram: d})
}

func FuzzDatagramFrame(f *testing.F) {
	fuzzFrames(f, &Frame{Type: FrameDatagram, Datagram: DatagramFrame{StreamID: 14, Data: []byte("x")}})
}
