//go:build linux

package udp

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// groControl builds the control message the kernel attaches to a GRO read.
func groControl(size int) []byte {
	b := make([]byte, unix.CmsgSpace(4))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.IPPROTO_UDP, unix.UDP_GRO
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0):], uint32(size))
	return b
}

func TestGROSegment(t *testing.T) {
	if g := groSegment(groControl(1400)); g != 1400 {
		t.Errorf("segment %d, want 1400", g)
	}
	if g := groSegment(gsoControl(make([]byte, controlSpace), 1400)); g != 0 {
		t.Errorf("a GSO message read as a GRO segment of %d", g)
	}
	if g := groSegment(nil); g != 0 {
		t.Errorf("no control message read as segment %d", g)
	}
}

// FuzzGROSegment parses arbitrary control-message bytes as the reader
// does after recvmsg; the property is that it never panics (the reader
// only uses a positive result).
func FuzzGROSegment(f *testing.F) {
	f.Add(groControl(1400))
	f.Add(gsoControl(make([]byte, controlSpace), 1400))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 17, 0, 0, 0, 104, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		groSegment(b)
	})
}

func TestRunEnd(t *testing.T) {
	a := txPacket{n: 1400}
	b := a
	b.n = 600
	tests := []struct {
		name string
		pkts []txPacket
		want int
	}{
		{"one", []txPacket{a}, 1},
		{"equal run", []txPacket{a, a, a}, 3},
		{"shorter ends a run", []txPacket{a, b, a}, 2},
		{"longer starts a new run", []txPacket{b, a}, 1},
	}
	for _, tc := range tests {
		if got := runEnd(tc.pkts, 0); got != tc.want {
			t.Errorf("%s: run ends at %d, want %d", tc.name, got, tc.want)
		}
	}
	many := make([]txPacket, 100)
	for i := range many {
		many[i] = a
	}
	if got := runEnd(many, 0); got != 46 { // 46 × 1400 ≤ 65000 < 47 × 1400
		t.Errorf("a run of 1400-byte datagrams ends at %d, want 46", got)
	}
}
