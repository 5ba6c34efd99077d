package fec

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestDecoderBoundsOpenGroups(t *testing.T) {
	d := NewDecoder(DecoderConfig{MaxGroups: 8})
	for g := range uint64(1000) {
		if _, err := d.AddSource(t0, SourceID{Group: g}, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if d.Open() > 8 {
			t.Fatalf("%d groups open", d.Open())
		}
	}
	if st := d.Stats(); st.Evicted != 992 || st.GroupsFailed != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The pooled buffers stay bounded too: at most one per held symbol
	// plus the ones lent out.
	if n := len(d.bufs.free); n > 8 {
		t.Fatalf("%d free buffers after evicting single-symbol groups", n)
	}
}

func TestDecoderEvictsByAge(t *testing.T) {
	d := NewDecoder(DecoderConfig{MaxAge: time.Second})
	syms := encodeGroup(t, [][]byte{[]byte("a"), []byte("b"), []byte("c")}, 2)
	// One source and one repair: shape known, not enough to recover.
	d.AddSource(t0, syms[0].id, syms[0].payload)
	d.AddRepair(t0, syms[3].repair)
	d.AddSource(t0.Add(999*time.Millisecond), SourceID{Group: 99}, []byte("y"))
	if d.Open() != 2 {
		t.Fatalf("%d open", d.Open())
	}
	d.AddSource(t0.Add(time.Second), SourceID{Group: 100}, []byte("z"))
	if st := d.Stats(); st.GroupsFailed != 1 || d.Open() != 2 {
		t.Fatalf("after MaxAge: open %d, stats %+v", d.Open(), st)
	}
}

func TestDecoderRejectsBadInput(t *testing.T) {
	syms := encodeGroup(t, [][]byte{[]byte("abc"), []byte("de")}, 2)
	good := syms[2].repair
	mod := func(f func(r *Repair)) Repair {
		r := good
		f(&r)
		return r
	}
	tests := []struct {
		name string
		add  func(d *Decoder) error
		want error
	}{
		{"oversize source", func(d *Decoder) error {
			_, err := d.AddSource(t0, SourceID{}, make([]byte, 1501))
			return err
		}, ErrOversize},
		{"oversize repair", func(d *Decoder) error {
			_, err := d.AddRepair(t0, mod(func(r *Repair) { r.Data = make([]byte, 1503) }))
			return err
		}, ErrOversize},
		{"negative index", func(d *Decoder) error {
			_, err := d.AddSource(t0, SourceID{Index: -1}, nil)
			return err
		}, ErrInvalid},
		{"k zero", func(d *Decoder) error { _, err := d.AddRepair(t0, mod(func(r *Repair) { r.K = 0 })); return err }, ErrInvalid},
		{"index below k", func(d *Decoder) error { _, err := d.AddRepair(t0, mod(func(r *Repair) { r.Index = 1 })); return err }, ErrInvalid},
		{"too many shards", func(d *Decoder) error { _, err := d.AddRepair(t0, mod(func(r *Repair) { r.M = 64 })); return err }, ErrInvalid},
		{"symbol shorter than a length", func(d *Decoder) error {
			_, err := d.AddRepair(t0, mod(func(r *Repair) { r.Data = r.Data[:1] }))
			return err
		}, ErrInvalid},
		{"repair disagrees with group", func(d *Decoder) error {
			d.AddRepair(t0, good)
			_, err := d.AddRepair(t0, mod(func(r *Repair) { r.Index, r.Data = 3, r.Data[:3] }))
			return err
		}, ErrInvalid},
		{"source beyond k", func(d *Decoder) error {
			d.AddRepair(t0, good)
			_, err := d.AddSource(t0, SourceID{Group: good.Group, Index: 2}, nil)
			return err
		}, ErrInvalid},
		{"earlier source too long for the group", func(d *Decoder) error {
			d.AddSource(t0, SourceID{Group: good.Group}, make([]byte, 50))
			_, err := d.AddRepair(t0, good)
			return err
		}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(DecoderConfig{})
			if err := tc.add(d); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if st := d.Stats(); st.Oversize+st.Invalid != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestDecoderCountsLateAndDuplicate(t *testing.T) {
	syms := encodeGroup(t, [][]byte{[]byte("abc"), []byte("de")}, 2)
	d := NewDecoder(DecoderConfig{})
	d.AddSource(t0, syms[0].id, syms[0].payload)
	d.AddSource(t0, syms[0].id, syms[0].payload)
	rec, err := d.AddRepair(t0, syms[2].repair)
	if err != nil || len(rec) != 1 || string(rec[0].Payload) != "de" {
		t.Fatalf("recovered %v, %v", rec, err)
	}
	d.AddRepair(t0, syms[3].repair)
	d.AddSource(t0, syms[1].id, syms[1].payload)
	if st := d.Stats(); st.Duplicate != 1 || st.Late != 2 || st.Recovered != 1 || st.GroupsRecovered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// benchGroup measures encoding and decoding one group of k 1200-byte
// packets with m repairs, losing lose sources per group.
func benchGroup(b *testing.B, k, m, lose int) {
	payload := make([]byte, 1200)
	for i := range payload {
		payload[i] = byte(i)
	}
	b.Run(fmt.Sprintf("encode_k%d_m%d", k, m), func(b *testing.B) {
		e := NewEncoder(EncoderConfig{})
		e.SetParams(Params{K: k, M: m})
		b.SetBytes(int64(k * len(payload)))
		b.ReportAllocs()
		for range b.N {
			for range k {
				e.Add(t0, payload)
			}
			e.Repairs()
		}
	})
	b.Run(fmt.Sprintf("decode_k%d_m%d_lose%d", k, m, lose), func(b *testing.B) {
		e := NewEncoder(EncoderConfig{})
		e.SetParams(Params{K: k, M: m})
		for range k {
			_, _ = e.Add(t0, payload)
		}
		reps := e.Repairs()
		d := NewDecoder(DecoderConfig{MaxGroups: 64})
		b.SetBytes(int64(k * len(payload)))
		b.ReportAllocs()
		for i := range b.N {
			g := uint64(i)
			for j := lose; j < k; j++ {
				d.AddSource(t0, SourceID{Group: g, Index: j}, payload)
			}
			for _, r := range reps[:lose] {
				r.Group = g
				if rec, _ := d.AddRepair(t0, r); len(rec) != lose && r.Index == k+lose-1 {
					b.Fatalf("recovered %d", len(rec))
				}
			}
		}
	})
}

func BenchmarkCodec(b *testing.B) {
	benchGroup(b, 10, 5, 2)
	benchGroup(b, 4, 4, 2)
}
