package sfu

import (
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// The kernel's share of forwarding: what one 1200-byte datagram to one of
// 200 loopback sockets costs the sending thread, written one sendto at a
// time, in sendmmsg batches, or on connected sockets. Read the
// cpu-ns/datagram metric (the thread's CPU time from getrusage, which on
// loopback includes the receiving socket's delivery); wall time says
// little on a shared machine. docs/sfu-benchmarks.md, round 3:
//
//	taskset -c 0 go test -run XXX -bench LoopbackSend -benchtime 100000x ./sfu/

const loopbackDests = 200

func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loopbackReceivers opens sockets that read and discard, and a sender.
func loopbackReceivers(b *testing.B) (*net.UDPConn, []*net.UDPAddr) {
	b.Helper()
	var addrs []*net.UDPAddr
	for range loopbackDests {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		_ = c.SetReadBuffer(1 << 20)
		b.Cleanup(func() { _ = c.Close() })
		addrs = append(addrs, c.LocalAddr().(*net.UDPAddr))
		go func() {
			buf := make([]byte, 2000)
			for {
				if _, _, err := c.ReadFrom(buf); err != nil {
					return
				}
			}
		}()
	}
	s, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	_ = s.SetWriteBuffer(4 << 20)
	b.Cleanup(func() { _ = s.Close() })
	return s, addrs
}

// measure runs send for b.N datagrams on one locked thread, pausing 1 ms
// after every round of loopbackDests so that the receivers keep up.
func measure(b *testing.B, send func(i int)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := threadCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i += loopbackDests {
		for k := range loopbackDests {
			send(k)
		}
		b.StopTimer()
		time.Sleep(time.Millisecond)
		b.StartTimer()
	}
	n := (b.N + loopbackDests - 1) / loopbackDests * loopbackDests
	b.ReportMetric(float64(threadCPU()-t0)/float64(n), "cpu-ns/datagram")
}

func BenchmarkLoopbackSendTo(b *testing.B) {
	s, addrs := loopbackReceivers(b)
	pkt := make([]byte, 1200)
	measure(b, func(k int) { _, _ = s.WriteToUDP(pkt, addrs[k]) })
}

func BenchmarkLoopbackSendBatch(b *testing.B) {
	s, addrs := loopbackReceivers(b)
	pc := ipv4.NewPacketConn(s)
	pkt := make([]byte, 1200)
	msgs := make([]ipv4.Message, loopbackDests)
	for i := range msgs {
		msgs[i] = ipv4.Message{Buffers: [][]byte{pkt}, Addr: addrs[i]}
	}
	measure(b, func(k int) {
		if k != 0 {
			return // one sendmmsg call per round sends them all
		}
		for off := 0; off < len(msgs); {
			n, err := pc.WriteBatch(msgs[off:], 0)
			if err != nil {
				b.Fatal(err)
			}
			off += n
		}
	})
}

func BenchmarkLoopbackSendConnected(b *testing.B) {
	_, addrs := loopbackReceivers(b)
	conns := make([]*net.UDPConn, len(addrs))
	for i, a := range addrs {
		c, err := net.DialUDP("udp4", nil, a)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		conns[i] = c
	}
	pkt := make([]byte, 1200)
	measure(b, func(k int) { _, _ = conns[k].Write(pkt) })
}
