package udprelay

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
)

// echoServer echoes every datagram and remembers the source addresses.
type echoServer struct {
	conn *net.UDPConn
	mu   sync.Mutex
	seen map[netip.AddrPort]int
	wg   sync.WaitGroup
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{conn: c, seen: make(map[netip.AddrPort]int)}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			e.mu.Lock()
			e.seen[from]++
			e.mu.Unlock()
			c.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	t.Cleanup(func() { c.Close(); e.wg.Wait() })
	return e
}

func (e *echoServer) addr() string { return e.conn.LocalAddr().String() }

func (e *echoServer) sources() map[netip.AddrPort]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[netip.AddrPort]int, len(e.seen))
	for k, v := range e.seen {
		m[k] = v
	}
	return m
}

func startRelay(t *testing.T, cfg Config) *Relay {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func dialRelay(t *testing.T, r *Relay) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(r.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pingPong sends count datagrams every gap, each carrying its index and
// send time, and returns the round-trip time of each reply, by index. It
// listens until linger after the last send.
func pingPong(t *testing.T, c *net.UDPConn, count int, gap, linger time.Duration) map[uint64]time.Duration {
	t.Helper()
	rtts := make(map[uint64]time.Duration)
	var sendDone atomic.Int64 // Unix nanoseconds of the last send, 0 while sending
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			c.SetReadDeadline(time.Now().Add(linger))
			n, err := c.Read(buf)
			if err != nil {
				if end := sendDone.Load(); end != 0 && time.Since(time.Unix(0, end)) >= linger {
					return
				}
				continue
			}
			if n < 16 {
				continue
			}
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(buf[8:])))
			rtts[binary.BigEndian.Uint64(buf)] = time.Since(sent)
		}
	}()
	msg := make([]byte, 200)
	for i := range count {
		binary.BigEndian.PutUint64(msg, uint64(i))
		binary.BigEndian.PutUint64(msg[8:], uint64(time.Now().UnixNano()))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(gap)
	}
	sendDone.Store(time.Now().UnixNano())
	<-done
	return rtts
}

func TestRelayLossAndDelay(t *testing.T) {
	echo := startEcho(t)
	const loss, delay = 0.2, 15 * time.Millisecond
	r := startRelay(t, Config{
		Upstream: echo.addr(),
		Up:       netsim.LinkConfig{Delay: delay, Loss: netsim.Bernoulli(loss)},
		Down:     netsim.LinkConfig{Delay: delay},
		Seed:     1,
	})
	const n = 1000
	rtts := pingPong(t, dialRelay(t, r), n, 300*time.Microsecond, 300*time.Millisecond)
	got := 1 - float64(len(rtts))/n
	if math.Abs(got-loss) > 0.04 {
		t.Errorf("round-trip loss %.3f, want %.2f±0.04", got, loss)
	}
	for i, rtt := range rtts {
		if rtt < 2*delay {
			t.Fatalf("reply %d after %v, below the configured 2×%v", i, rtt, delay)
		}
	}
	st := r.Stats()
	if st.Up.Link.Sent != n || st.Up.Link.Lost+st.Up.Link.Delivered != n {
		t.Errorf("up stats %+v", st.Up.Link)
	}
	if st.Down.Written != uint64(len(rtts)) || st.Clients != 1 {
		t.Errorf("down written %d, %d replies; clients %d", st.Down.Written, len(rtts), st.Clients)
	}
	// The relay's own delays: every write is timed, every read stamped by
	// the kernel (Linux).
	if st.Up.WriteLate.Count != st.Up.Written || st.Down.WriteLate.Count != st.Down.Written {
		t.Errorf("write lateness of %d/%d writes", st.Up.WriteLate.Count, st.Down.WriteLate.Count)
	}
	if runtime.GOOS == "linux" && (st.Up.ReadLag.Count != n || st.Down.ReadLag.Count != st.Down.Link.Sent) {
		t.Errorf("read lag of %d of %d datagrams up, %d of %d down", st.Up.ReadLag.Count, n, st.Down.ReadLag.Count, st.Down.Link.Sent)
	}
}

func TestRelayRateSpacesPackets(t *testing.T) {
	echo := startEcho(t)
	r := startRelay(t, Config{Upstream: echo.addr(), Up: netsim.LinkConfig{Rate: 2e6}})
	c := dialRelay(t, r)
	msg := make([]byte, 1000) // 4 ms each at 2 Mbit/s
	const n = 40
	start := time.Now()
	for range n {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	for i := range n {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	// Scheduling delays can only lengthen this, so it is a safe bound: the
	// last packet cannot leave the bottleneck before n transmission times.
	if took, want := time.Since(start), n*4*time.Millisecond; took < want {
		t.Fatalf("%d packets of 1000 B at 2 Mbit/s echoed in %v, want ≥ %v", n, took, want)
	}
	if st := r.Stats(); st.Up.Link.QueueDelay.Max < n/2*4*time.Millisecond {
		t.Fatalf("the last packet queued only %v", st.Up.Link.QueueDelay.Max)
	}
}

func TestRelayMapsClientsAndRebinds(t *testing.T) {
	echo := startEcho(t)
	r := startRelay(t, Config{Upstream: echo.addr()})
	c1, c2 := dialRelay(t, r), dialRelay(t, r)
	roundTrip := func(c *net.UDPConn, payload string) {
		t.Helper()
		if _, err := c.Write([]byte(payload)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != payload {
			t.Fatalf("echo of %q: %q, %v", payload, buf[:n], err)
		}
	}
	roundTrip(c1, "one")
	roundTrip(c2, "two")
	if src := echo.sources(); len(src) != 2 {
		t.Fatalf("two clients should use two upstream ports: %v", src)
	}
	if err := r.Rebind(); err != nil {
		t.Fatal(err)
	}
	roundTrip(c1, "one again")
	roundTrip(c2, "two again")
	if src := echo.sources(); len(src) != 4 {
		t.Fatalf("after rebind the upstream should see new ports: %v", src)
	}
	if st := r.Stats(); st.Rebinds != 2 || st.Clients != 2 {
		t.Fatalf("rebinds %d clients %d", st.Rebinds, st.Clients)
	}
}

func TestRelayRebindsPeriodically(t *testing.T) {
	echo := startEcho(t)
	r := startRelay(t, Config{Upstream: echo.addr(), RebindEvery: 20 * time.Millisecond})
	rtts := pingPong(t, dialRelay(t, r), 30, 5*time.Millisecond, 100*time.Millisecond)
	if len(echo.sources()) < 3 || r.Stats().Rebinds < 2 {
		t.Fatalf("rebinds %d, upstream saw %d ports", r.Stats().Rebinds, len(echo.sources()))
	}
	if len(rtts) < 25 {
		t.Fatalf("only %d of 30 replies across rebinds", len(rtts))
	}
}

func TestRelayRejectsClientsBeyondLimit(t *testing.T) {
	echo := startEcho(t)
	r := startRelay(t, Config{Upstream: echo.addr(), MaxClients: 1})
	c1, c2 := dialRelay(t, r), dialRelay(t, r)
	c1.Write([]byte("a"))
	buf := make([]byte, 10)
	c1.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c1.Read(buf); err != nil {
		t.Fatal(err)
	}
	c2.Write([]byte("b"))
	c2.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c2.Read(buf); err == nil {
		t.Fatal("second client was served beyond MaxClients=1")
	}
	if r.Stats().Rejected != 1 {
		t.Fatalf("rejected %d", r.Stats().Rejected)
	}
}

// waitGoroutines waits for the goroutine count to fall to at most n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want ≤ %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRelayStopsOnCloseAndContext(t *testing.T) {
	echo := startEcho(t)
	base := runtime.NumGoroutine()
	for _, viaCtx := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		r, err := New(ctx, Config{Listen: "127.0.0.1:0", Upstream: echo.addr(), Up: netsim.LinkConfig{Delay: time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		c := dialRelay(t, r)
		c.Write([]byte("held in the delay line"))
		time.Sleep(20 * time.Millisecond)
		if viaCtx {
			cancel()
			select {
			case <-r.Done():
			case <-time.After(time.Second):
				t.Fatal("relay ignored its context")
			}
		} else {
			r.Close()
		}
		r.Close()
		cancel()
		waitGoroutines(t, base)
		if err := r.Rebind(); err == nil {
			t.Fatal("Rebind after Close succeeded")
		}
	}
}

// BenchmarkRelayThroughput blasts 1200-byte datagrams through an
// unimpaired relay to a sink on loopback and reports what got through: the
// relay's ceiling for real-time runs.
func BenchmarkRelayThroughput(b *testing.B) {
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	sink.SetReadBuffer(socketBuffer)
	r, err := New(context.Background(), Config{Listen: "127.0.0.1:0", Upstream: sink.LocalAddr().String()})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(r.Addr()))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var got atomic.Int64
	var last atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			sink.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := sink.Read(buf); err != nil {
				return
			}
			got.Add(1)
			last.Store(time.Now().UnixNano())
		}
	}()
	msg := make([]byte, 1200)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		c.Write(msg)
		if i%64 == 63 {
			time.Sleep(100 * time.Microsecond) // a paced sender, not a flood
		}
	}
	<-done
	b.StopTimer()
	span := time.Unix(0, last.Load()).Sub(start).Seconds()
	b.ReportMetric(float64(got.Load())*1200*8/span/1e6, "Mbit/s")
	b.ReportMetric(float64(got.Load())/float64(b.N), "delivered")
}
