package qrtp

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkBulkLoopback moves reliable stream data between two endpoints
// in memory, with no loss: every iteration is one 1 MiB write carried to
// the reader. It measures the whole per-packet path on both sides
// (scheduling, packet build, seal, open, frame parse, reassembly, ACK
// generation and processing, loss detection) without sockets. ns/op is
// per MiB; pkts/s is what one core sustains for both endpoints together.
func BenchmarkBulkLoopback(b *testing.B) {
	for _, loss := range []int{0, 10, 50} {
		b.Run(fmt.Sprintf("loss=%d%%", loss), func(b *testing.B) { benchBulk(b, loss) })
	}
}

func benchBulk(b *testing.B, lossPct int) {
	p := newPair(b, 7)
	rng := rand.New(rand.NewPCG(1, 2))
	s, _ := p.cc.OpenStream(StreamOptions{SendBuffer: 8 << 20})
	chunk := make([]byte, 1<<20)
	buf := make([]byte, 256<<10)
	var rs *Stream
	var toSrv, toCli [][]byte
	var bufs [][]byte
	capture := func(dst *[][]byte) func(netip.AddrPort, []byte) {
		return func(_ netip.AddrPort, d []byte) {
			var c []byte
			if n := len(bufs); n > 0 {
				c, bufs = bufs[n-1][:0], bufs[:n-1]
			}
			*dst = append(*dst, append(c, d...))
		}
	}
	sendSrv, sendCli := capture(&toSrv), capture(&toCli)
	step := func() {
		p.now = p.now.Add(20 * time.Microsecond)
		p.cli.Poll(p.now, sendSrv)
		for _, d := range toSrv {
			if rng.IntN(100) >= lossPct {
				p.srv.HandleDatagram(p.now, fuzzCli, d)
			}
			bufs = append(bufs, d)
		}
		toSrv = toSrv[:0]
		p.srv.Poll(p.now, sendCli)
		for _, d := range toCli {
			p.cli.HandleDatagram(p.now, fuzzSrv, d)
			bufs = append(bufs, d)
		}
		toCli = toCli[:0]
	}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	startPkts := p.cc.rec.stats.sent
	start := time.Now()
	for b.Loop() {
		for off := 0; off < len(chunk); {
			n, _ := s.Write(chunk[off:])
			off += n
			step()
		}
		for got := 0; got < len(chunk); {
			if rs == nil {
				rs = p.sc.AcceptStream()
			}
			if rs != nil {
				n, err := rs.Read(buf)
				got += n
				if err != nil && err != io.EOF {
					b.Fatal(err)
				}
				if n > 0 {
					continue
				}
			}
			step()
		}
	}
	pkts := p.cc.rec.stats.sent - startPkts
	b.ReportMetric(float64(pkts)/time.Since(start).Seconds(), "pkts/s")
	b.ReportMetric(float64(p.cc.rec.stats.lost)/float64(max(pkts, 1)), "lost/pkt")
}
