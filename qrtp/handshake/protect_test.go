package handshake

import (
	"bytes"
	"testing"
)

func TestSealOpenDetectsTampering(t *testing.T) {
	ini, resp := sessionPair(t)
	header := []byte{0x40, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 42}
	body := bytes.Repeat([]byte("media frame "), 20)
	const pn = 42
	sealed := ini.Send.Seal(nil, header, body, pn)
	if len(sealed) != len(body)+SealOverhead || ini.Send.Overhead() != SealOverhead || resp.Recv.Overhead() != SealOverhead {
		t.Fatalf("sealed %d bytes for %d", len(sealed), len(body))
	}
	if bytes.Contains(sealed, []byte("media frame")) {
		t.Fatal("plaintext visible in the sealed packet")
	}
	if got, err := resp.Recv.Open(nil, header, sealed, pn); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("open: %v", err)
	}
	for i := range header {
		bad := bytes.Clone(header)
		bad[i] ^= 0x04
		_, err := resp.Recv.Open(nil, bad, sealed, pn)
		wantErr(t, err, ErrDecrypt)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x10
		_, err := resp.Recv.Open(nil, header, bad, pn)
		wantErr(t, err, ErrDecrypt)
	}
	for _, wrong := range []uint64{pn - 1, pn + 1, pn | 1<<40} {
		_, err := resp.Recv.Open(nil, header, sealed, wrong)
		wantErr(t, err, ErrDecrypt)
	}
	for _, cut := range [][]byte{nil, sealed[:SealOverhead-1], sealed[:len(sealed)-1]} {
		_, err := resp.Recv.Open(nil, header, cut, pn)
		wantErr(t, err, ErrDecrypt)
	}
}

func TestSealOpenInPlace(t *testing.T) {
	ini, resp := sessionPair(t)
	header := []byte{0x41, 9}
	buf := make([]byte, 0, 1200+SealOverhead)
	buf = append(buf, []byte("in place")...)
	sealed := ini.Send.Seal(buf[:0], header, buf, 1)
	opened, err := resp.Recv.Open(sealed[:0], header, sealed, 1)
	if err != nil || string(opened) != "in place" {
		t.Fatalf("in-place open: %v %q", err, opened)
	}
}

func TestSealOpenDoNotAllocate(t *testing.T) {
	ini, resp := sessionPair(t)
	header := make([]byte, 13)
	body := make([]byte, 1200)
	sealed := make([]byte, 0, len(body)+SealOverhead)
	opened := make([]byte, 0, len(body))
	var pn uint64
	allocs := testing.AllocsPerRun(100, func() {
		pn++
		sealed = ini.Send.Seal(sealed[:0], header, body, pn)
		var err error
		opened, err = resp.Recv.Open(opened[:0], header, sealed, pn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := resp.Recv.Open(opened[:0], header, sealed, pn+1); err == nil {
			t.Fatal("opened with the wrong number")
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per seal+open+failed open, want 0", allocs)
	}
}

func TestKeyUpdate(t *testing.T) {
	ini, resp := sessionPair(t)
	s1, o1 := ini.Send.Next(), resp.Recv.Next()
	s2, o2 := s1.Next(), o1.Next()
	ct := s2.Seal(nil, []byte("h"), []byte("gen 2"), 5)
	if pt, err := o2.Open(nil, []byte("h"), ct, 5); err != nil || string(pt) != "gen 2" {
		t.Fatalf("generation 2: %v", err)
	}
	for _, o := range []*Opener{resp.Recv, o1} {
		_, err := o.Open(nil, []byte("h"), ct, 5)
		wantErr(t, err, ErrDecrypt)
	}
}
