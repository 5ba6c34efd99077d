package browsertest

import (
	"encoding/binary"
	"os"
	"testing"
	"time"
)

// TestWriteSpeechWAV checks the RIFF header and that the signal is loud.
func TestWriteSpeechWAV(t *testing.T) {
	p := t.TempDir() + "/speech.wav"
	if err := WriteSpeechWAV(p, time.Second); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(b) != 44+96000 || string(b[:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || le.Uint32(b[24:]) != 48000 || string(b[36:40]) != "data" {
		t.Fatalf("bad header % x (%d bytes)", b[:44], len(b))
	}
	peak := 0
	for i := 44; i < len(b); i += 2 {
		peak = max(peak, int(int16(le.Uint16(b[i:]))))
	}
	if peak < 8000 {
		t.Fatalf("peak %d: too quiet to be a speaker", peak)
	}
}
