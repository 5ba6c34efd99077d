package qrtp

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"
)

// TestKeyUpdates forces a key update every few dozen packets in both
// directions and delivers every batch of datagrams in reverse order, so
// packets sealed before a switch arrive after packets sealed after it. The
// transfer completes intact with no authentication failures.
func TestKeyUpdates(t *testing.T) {
	p := newPair(t, 21)
	p.cc.keys.updateEvery = 37
	p.sc.keys.updateEvery = 23
	up, down := pattern(2<<20), pattern(1 << 20)[7:]
	s, _ := p.cc.OpenStream(StreamOptions{SendBuffer: 4 << 20})
	s.Write(up)
	s.Close()
	var rs *Stream
	var gotUp, gotDown bytes.Buffer
	buf := make([]byte, 64<<10)
	read := func(st *Stream, dst *bytes.Buffer) bool {
		n, err := st.Read(buf)
		dst.Write(buf[:n])
		return err == io.EOF
	}
	upDone, downDone := false, false
	for i := 0; i < 50000 && !(upDone && downDone); i++ {
		p.now = p.now.Add(200 * time.Microsecond)
		for _, dir := range []struct {
			from, to *Endpoint
			addr     netip.AddrPort
		}{{p.cli, p.srv, fuzzCli}, {p.srv, p.cli, fuzzSrv}} {
			var batch [][]byte
			dir.from.Poll(p.now, func(_ netip.AddrPort, b []byte) { batch = append(batch, append([]byte(nil), b...)) })
			for j := len(batch) - 1; j >= 0; j-- { // newest first
				dir.to.HandleDatagram(p.now, dir.addr, batch[j])
			}
		}
		if rs == nil {
			if rs = p.sc.AcceptStream(); rs != nil {
				rs.Write(down)
				rs.Close()
			}
		}
		if rs != nil && !upDone {
			upDone = read(rs, &gotUp)
		}
		if !downDone {
			downDone = read(s, &gotDown)
		}
	}
	if !bytes.Equal(gotUp.Bytes(), up) || !bytes.Equal(gotDown.Bytes(), down) {
		t.Fatalf("got %d of %d bytes up, %d of %d down", gotUp.Len(), len(up), gotDown.Len(), len(down))
	}
	if p.sc.keys.updates < 5 || p.cc.keys.updates < 5 {
		t.Fatalf("key updates adopted: server %d, client %d", p.sc.keys.updates, p.cc.keys.updates)
	}
	if f := p.sc.st.DecryptFailures + p.cc.st.DecryptFailures; f != 0 {
		t.Fatalf("%d decrypt failures", f)
	}
	t.Logf("key updates adopted: server %d, client %d", p.sc.keys.updates, p.cc.keys.updates)
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>8)
	}
	return b
}
