package udp

import (
	"context"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoopback moves one encrypted bulk-profile reliable stream from
// a client transport to a server transport over loopback UDP, both in
// this process. It reports goodput (Mbit/s, counted by the reader) and
// the CPU seconds both ends spent per gigabit moved.
func BenchmarkLoopback(b *testing.B) {
	ctx := context.Background()
	bulk := qrtp.ConnConfig{Profile: "bulk"}
	srv := startServer(b, func(c *qrtp.Config) { c.Conn = bulk })
	key := srv.PublicKey()
	cli, err := Dial(ctx, srv.Addr().String(), qrtp.Config{Key: newKey(b), Conn: bulk}, &key)
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	s, err := cli.OpenStream(ctx, qrtp.StreamOptions{})
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	total := int64(b.N) * int64(len(chunk))
	go func() {
		for sent := int64(0); sent < total; sent += int64(len(chunk)) {
			if _, err := s.Write(chunk); err != nil {
				return
			}
		}
		s.Close()
	}()
	sc, err := srv.Accept(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ss, err := sc.AcceptStream(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	n, err := io.CopyBuffer(io.Discard, ss, make([]byte, 64<<10))
	if err != nil {
		b.Fatal(err)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	gbit := float64(n) * 8 / 1e9
	b.ReportMetric(gbit*1e3/elapsed.Seconds(), "Mbit/s")
	b.ReportMetric(cpu.Seconds()/gbit, "cpu-s/Gbit")
	st := cli.Stats()
	b.ReportMetric(float64(st.BytesRetransmitted)/float64(max(n, 1)), "retx-ratio")
	tst := cli.Transport().Stats()
	b.Logf("moved %d bytes in %v; client %+v; gso=%v gro=%v gsoSends=%d", n, elapsed, st, tst.GSO, tst.GRO, tst.GSOSends)
}
