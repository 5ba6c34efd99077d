package turnsrv

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sink counts what reaches the node's media socket.
func sink(b *testing.B) (*net.UDPConn, chan int) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	_ = c.SetReadBuffer(8 << 20)
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 2000)
		n := 0
		for {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, err := c.ReadFrom(buf); err != nil {
				got <- n
				return
			}
			n++
		}
	}()
	return c, got
}

// relayBench sends b.N packets of 1200 bytes towards the media socket,
// directly or through a TURN relay over UDP, paced at rate bits/s, and
// reports the process's CPU per Mbit/s delivered (client, server and
// receiver together: the difference between the two runs is the relay's
// cost).
func relayBench(b *testing.B, relay bool) {
	const size, rate = 1200, 50_000_000
	m, got := sink(b)
	defer m.Close()
	var conn net.PacketConn
	if relay {
		s, err := New(Config{Enabled: true, UDPAddr: "127.0.0.1:0", MaxBitrate: 1 << 30}, "bench-secret-0123456789",
			Media{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Ports: []int{m.LocalAddr().(*net.UDPAddr).Port}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		u, p := s.Credentials("bench", time.Now())
		cl := client(&testing.T{}, s, "udp", u, p)
		if conn, err = cl.Allocate(); err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
	} else {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conn = c
	}
	pkt := make([]byte, size)
	_, _ = conn.WriteTo(pkt, m.LocalAddr()) // permission and channel binding
	time.Sleep(200 * time.Millisecond)
	gap := time.Duration(float64(time.Second) * size * 8 / rate)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	next := start
	for i := 0; i < b.N; i++ {
		_, _ = conn.WriteTo(pkt, m.LocalAddr())
		next = next.Add(gap)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	n := <-got
	mbit := float64(n) * size * 8 / 1e6
	b.ReportMetric(float64(n)/float64(b.N), "delivered")
	b.ReportMetric(mbit/wall.Seconds(), "Mbit/s")
	b.ReportMetric(cpu.Seconds()*1000/(mbit/wall.Seconds())/wall.Seconds(), "cpu-ms/s-per-Mbit/s")
}

// BenchmarkRelayCost compares relayed with direct UDP at 50 Mbit/s:
//
//	taskset -c 1 go test -run '^$' -bench RelayCost -benchtime 50000x ./turnsrv/
func BenchmarkRelayCost(b *testing.B) {
	b.Run("direct", func(b *testing.B) { relayBench(b, false) })
	b.Run("turn-udp", func(b *testing.B) { relayBench(b, true) })
}
