package fec

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// opStream encodes decoder inputs for the fuzzer: per op a kind byte
// (even: source, odd: repair), group, index, k, m, a 2-byte length and
// that many data bytes (fewer if the input ends).
func appendOp(b []byte, repair bool, group, index, k, m int, data []byte) []byte {
	kind := byte(0)
	if repair {
		kind = 1
	}
	b = append(b, kind, byte(group), byte(index), byte(k), byte(m))
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// FuzzDecoder feeds arbitrary, possibly inconsistent symbols to a decoder
// with small limits and checks it never panics, stays within its bounds,
// and only returns payloads that fit the limits.
func FuzzDecoder(f *testing.F) {
	// A real group, so the fuzzer starts from inputs that recover.
	e := NewEncoder(EncoderConfig{MaxPayload: 64})
	e.SetParams(Params{K: 3, M: 2})
	var seed []byte
	for i, p := range [][]byte{[]byte("alpha"), []byte(""), []byte("a longer third payload")} {
		e.Add(t0, p)
		if i != 1 { // lose source 1
			seed = appendOp(seed, false, 0, i, 0, 0, p)
		}
	}
	for _, r := range e.Repairs() {
		seed = appendOp(seed, true, int(r.Group), r.Index, r.K, r.M, r.Data)
	}
	f.Add(seed)
	f.Add(appendOp(nil, true, 1, 300, 1, 1, []byte{0xff, 0xff, 1}))
	f.Add(appendOp(appendOp(nil, false, 2, 0, 0, 0, make([]byte, 60)), true, 2, 1, 1, 1, []byte{0, 1}))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := DecoderConfig{MaxPayload: 64, MaxShards: 16, MaxGroups: 4, MaxAge: time.Second}
		d := NewDecoder(cfg)
		now := t0
		for len(in) >= 7 {
			kind, group, index, k, m := in[0], in[1], int(in[2]), int(in[3]), int(in[4])
			n := int(binary.BigEndian.Uint16(in[5:7]))
			in = in[7:]
			n = min(n, len(in))
			data := in[:n]
			in = in[n:]
			now = now.Add(time.Duration(group%8) * 100 * time.Millisecond)
			var rec []Recovered
			if kind%2 == 0 {
				rec, _ = d.AddSource(now, SourceID{Group: uint64(group % 16), Index: index}, data)
			} else {
				rec, _ = d.AddRepair(now, Repair{Group: uint64(group % 16), Index: index, K: k, M: m, Data: data})
			}
			for _, r := range rec {
				if len(r.Payload) > cfg.MaxPayload || r.ID.Index < 0 || r.ID.Index >= cfg.MaxShards {
					t.Fatalf("recovered %+v beyond the limits", r.ID)
				}
			}
			if d.Open() > cfg.MaxGroups {
				t.Fatalf("%d groups open, limit %d", d.Open(), cfg.MaxGroups)
			}
			if len(d.done) > cap(d.doneRing) {
				t.Fatalf("%d finished groups remembered", len(d.done))
			}
		}
	})
}

// FuzzRoundTrip encodes fuzzer-chosen payloads, drops fuzzer-chosen
// symbols, and checks that whenever k symbols remain every payload comes
// back intact.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello world, this is a payload"), uint8(4), uint8(2), uint16(0b010010))
	f.Add([]byte{}, uint8(1), uint8(1), uint16(1))
	f.Add(bytes.Repeat([]byte{0xab}, 400), uint8(10), uint8(5), uint16(0x7c00))
	f.Fuzz(func(t *testing.T, data []byte, k8, m8 uint8, lose uint16) {
		k, m := int(k8%12)+1, int(m8%4)+1
		payloads := make([][]byte, k)
		for i := range payloads { // split data unevenly into k payloads
			n := min(len(data), (i*7)%(len(data)+1))
			payloads[i], data = data[:n], data[n:]
		}
		e := NewEncoder(EncoderConfig{MaxPayload: 1500})
		e.SetParams(Params{K: k, M: m})
		d := NewDecoder(DecoderConfig{MaxPayload: 1500})
		var ids []SourceID
		for _, p := range payloads {
			id, err := e.Add(t0, p)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		reps := e.Repairs()
		if len(reps) != m {
			t.Fatalf("%d repairs, want %d", len(reps), m)
		}
		lost, have := map[int]bool{}, 0
		got := map[int][]byte{}
		for i := range k + m {
			if lose&(1<<(i%16)) != 0 {
				lost[i] = true
				continue
			}
			have++
			var rec []Recovered
			if i < k {
				rec, _ = d.AddSource(t0, ids[i], payloads[i])
			} else {
				rec, _ = d.AddRepair(t0, reps[i-k])
			}
			for _, r := range rec {
				got[r.ID.Index] = bytes.Clone(r.Payload)
			}
		}
		for i := range k {
			if !lost[i] {
				continue
			}
			p, ok := got[i]
			if have >= k && (!ok || !bytes.Equal(p, payloads[i])) {
				t.Fatalf("k=%d m=%d, %d symbols left: source %d not recovered intact", k, m, have, i)
			}
			if have < k && ok {
				t.Fatalf("recovered from %d < k=%d symbols", have, k)
			}
		}
	})
}
