package perf

import (
	"bytes"
	"testing"
	"time"
)

// FuzzControl feeds arbitrary control-stream bytes to the decoder and the
// server's validation of a start message: they must not panic, and what
// passes validation must describe frames we can afford.
func FuzzControl(f *testing.F) {
	f.Add([]byte(`{"type":"start","mode":"bulk","profile":"bulk","interval":1000000000}` + "\n"))
	f.Add([]byte(`{"type":"start","mode":"media","bitrate":1500000,"fps":25,"deadline":300000000,"profile":"meeting"}` + "\n"))
	f.Add([]byte(`{"type":"start","mode":"media","bitrate":1e300,"fps":1e-300,"deadline":1,"profile":"live"}`))
	f.Add([]byte(`{"type":"stop","frames_sent":-5,"clock_offset_ns":9223372036854775807}`))
	f.Add([]byte(`{"type":"ping","t":1}{"type":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cd := newConduit(&rw{r: bytes.NewReader(b)})
		for range 4 {
			m, err := cd.recv()
			if err != nil {
				return
			}
			st := &serverTest{start: m}
			if st.check() == nil && m.Mode == ModeMedia {
				if n := frameBytes(m.Bitrate, m.FPS); n < frameHeader || n > maxFrameBytes {
					t.Fatalf("accepted frames of %d bytes", n)
				}
			}
		}
	})
}

// FuzzFrameHeader parses arbitrary frames as a media receiver does.
func FuzzFrameHeader(f *testing.F) {
	b := make([]byte, 32)
	putFrameHeader(b, 7, time.Unix(0, 123))
	f.Add(b)
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ns, err := parseFrameHeader(b)
		if err != nil {
			return
		}
		out := make([]byte, frameHeader)
		putFrameHeader(out, n, time.Unix(0, ns))
		if !bytes.Equal(out, b[:frameHeader]) {
			t.Fatalf("header does not round-trip")
		}
	})
}

// rw is a read-only io.ReadWriter for the conduit.
type rw struct{ r *bytes.Reader }

func (x *rw) Read(p []byte) (int, error)  { return x.r.Read(p) }
func (x *rw) Write(p []byte) (int, error) { return len(p), nil }
