package browsertest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"time"
)

// WriteSpeechWAV writes a 48 kHz mono 16-bit WAV file of d that sounds, to
// a level meter, like someone talking: a 220 Hz tone with harmonics, its
// loudness rising and falling four times a second like syllables, peaking
// near -6 dBFS. Chromium's fake microphone beeps only now and then, which
// an active speaker detector rightly ignores; this file, given as
// Options.FakeAudio, makes a page's participant speak.
func WriteSpeechWAV(path string, d time.Duration) error {
	const rate = 48000
	n := int(d.Seconds() * rate)
	pcm := make([]int16, n)
	for i := range pcm {
		t := float64(i) / rate
		env := 0.55 + 0.45*math.Sin(2*math.Pi*4*t) // syllables
		v := math.Sin(2*math.Pi*220*t) + 0.5*math.Sin(2*math.Pi*440*t) + 0.25*math.Sin(2*math.Pi*660*t)
		pcm[i] = int16(env * v / 1.75 * 0.5 * math.MaxInt16)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		_ = binary.Write(&b, le, v) // fmt chunk: PCM, mono, 48 kHz, 16 bits
	}
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(2*n))
	_ = binary.Write(&b, le, pcm)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("browsertest: %w", err)
	}
	return nil
}
