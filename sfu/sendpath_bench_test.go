package sfu

import (
	"crypto/aes"
	"crypto/cipher"
	"math/rand/v2"
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

// coldState stands for what pion keeps per subscriber and touches for
// every packet (interceptors, the SRTP context and its per-SSRC state, the
// ICE pair and mux): an AES-GCM context and 4 KiB of 64-byte heap nodes
// chained in random order. Served once per round of loopbackDests, like a
// fan-out serves its subscribers, it is out of the caches every time.
type coldState struct {
	aead  cipher.AEAD
	chain *coldNode
	out   []byte
}

type coldNode struct {
	next *coldNode
	v    [7]uint64
}

func newColdStates(b *testing.B) []coldState {
	rng := rand.New(rand.NewPCG(1, 2))
	st := make([]coldState, loopbackDests)
	for i := range st {
		key := make([]byte, 16)
		for k := range key {
			key[k] = byte(rng.Uint32())
		}
		blk, err := aes.NewCipher(key)
		if err != nil {
			b.Fatal(err)
		}
		if st[i].aead, err = cipher.NewGCM(blk); err != nil {
			b.Fatal(err)
		}
		nodes := make([]*coldNode, 64)
		for k := range nodes {
			nodes[k] = &coldNode{}
		}
		rng.Shuffle(len(nodes), func(x, y int) { nodes[x], nodes[y] = nodes[y], nodes[x] })
		for k := 0; k+1 < len(nodes); k++ {
			nodes[k].next = nodes[k+1]
		}
		st[i].chain, st[i].out = nodes[0], make([]byte, 0, 1300)
	}
	return st
}

// prepare is the user-space part of sending to one subscriber: walk its
// state, seal the packet with its key.
func (c *coldState) prepare(pkt, nonce []byte) {
	for n := c.chain; n != nil; n = n.next {
		n.v[0]++
	}
	c.out = c.aead.Seal(c.out[:0], nonce, pkt, nil)
}

// BenchmarkLoopbackSendColdState: each datagram prepared from its
// destination's cold state, then written (as pion's send path does it);
// BenchmarkLoopbackSendColdStateBatched: every datagram of the round
// prepared first, then all written with sendmmsg. The difference is what
// interleaving the user-space and the kernel's work costs (round 5).
func BenchmarkLoopbackSendColdState(b *testing.B) {
	s, addrs := loopbackReceivers(b)
	st := newColdStates(b)
	pkt, nonce := make([]byte, 1200), make([]byte, 12)
	measure(b, func(k int) {
		st[k].prepare(pkt, nonce)
		_, _ = s.WriteToUDP(st[k].out, addrs[k])
	})
}

func BenchmarkLoopbackSendColdStateBatched(b *testing.B) {
	s, addrs := loopbackReceivers(b)
	st := newColdStates(b)
	pc := ipv4.NewPacketConn(s)
	pkt, nonce := make([]byte, 1200), make([]byte, 12)
	msgs := make([]ipv4.Message, loopbackDests)
	measure(b, func(k int) {
		if k != 0 {
			return
		}
		for i := range st {
			st[i].prepare(pkt, nonce)
			msgs[i] = ipv4.Message{Buffers: [][]byte{st[i].out}, Addr: addrs[i]}
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
