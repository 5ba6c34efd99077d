package sfu

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/qrtn/qrtn/sfu/sfutest"
)

// cannedOffer is a browser-like publisher offer (simulcast VP8 and Opus)
// made once by a pion client; the SFU answers it every time.
func cannedOffer(t testing.TB) string {
	t.Helper()
	var offer string
	c, err := sfutest.New(sfutest.Options{Layers: []string{"s", "l"}, Audio: true}, func(o sfutest.Out) {
		if o.Type == "offer" {
			offer = o.SDP
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	return offer
}

type nopUpstream struct{}

func (nopUpstream) RequestKeyframe(int)    {}
func (nopUpstream) SetLayersWanted([]bool) {}

// joinLeave runs one participant through a whole life: it joins, gets its
// publisher offer answered (ICE never completes), publishes a track by
// code that every subscriber in the room gets a down-track for, sends a
// few packets, and leaves.
func joinLeave(t testing.TB, s *SFU, room string, i int, offer string) {
	p, err := s.Join(room, "", ParticipantParams{ID: fmt.Sprintf("p%d", i), CanPublish: true, CanSubscribe: true, OnEvent: func(Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.HandleOffer(offer); err != nil {
		t.Fatal(err)
	}
	r, err := p.PublishTrack(TrackParams{Kind: webrtc.RTPCodecTypeVideo, Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		Layers: []string{"s", "l"}, Upstream: nopUpstream{}})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 20; k++ {
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(k), Timestamp: uint32(k * 3000)},
			Payload: []byte{0x90, 0x80, byte(k), 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 1, 2, 3}}).Marshal()
		_ = r.WriteRTP(k%2, raw, time.Now())
	}
	p.Close()
}

// stable waits until the goroutine count stops falling, and returns it.
func stable() int {
	n, same := runtime.NumGoroutine(), 0
	for i := 0; i < 200 && same < 8; i++ {
		time.Sleep(25 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m < n {
			n, same = m, 0
		} else {
			same++
		}
	}
	return n
}

// settle waits for the goroutine count to fall to at most want.
func settle(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > want; i++ {
		time.Sleep(25 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestJoinLeaveNoLeak joins and leaves 300 participants next to a
// long-lived real subscriber (which renegotiates for every track that
// comes and goes) and checks that goroutines and heap return to where they
// were, and that the SFU's goroutines all end with Close.
func TestJoinLeaveNoLeak(t *testing.T) {
	start := runtime.NumGoroutine()
	s := newTestSFU(t, nil)
	offer := cannedOffer(t)
	watcher := join(t, s, "leak", "watcher", sfutest.Options{Subscribe: true})
	for i := 0; i < 30; i++ { // warm up pools and caches
		joinLeave(t, s, "leak", i, offer)
	}
	base := stable()
	heap := heapInUse()
	for i := 30; i < 300; i++ {
		joinLeave(t, s, "leak", i, offer)
	}
	if n := settle(base + 2); n > base+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines %d after 270 joins and leaves, %d before\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
	grown := int64(heapInUse()) - int64(heap)
	t.Logf("heap grew %d KiB over 270 joins and leaves (%d goroutines)", grown/1024, base)
	if grown > 8<<20 {
		t.Errorf("heap grew %d KiB over 270 joins and leaves", grown/1024)
	}
	if st := s.Stats(); st.Participants != 1 || st.Tracks != 0 || st.DownTracks != 0 {
		t.Errorf("left behind: %+v", st)
	}
	watcher.close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := settle(start); n > start {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines %d after Close, %d before New\n%s", n, start, buf[:runtime.Stack(buf, true)])
	}
}

// BenchmarkJoinLeave measures a participant's whole life and reports what
// stays behind per join.
func BenchmarkJoinLeave(b *testing.B) {
	s := newTestSFU(b, nil)
	defer s.Close()
	offer := cannedOffer(b)
	for i := 0; i < 20; i++ {
		joinLeave(b, s, "bench", i, offer)
	}
	g0 := stable()
	h0 := heapInUse()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		joinLeave(b, s, "bench", 20+i, offer)
	}
	b.StopTimer()
	g1 := settle(g0)
	h1 := heapInUse()
	b.ReportMetric(float64(g1-g0)/float64(b.N), "goroutines-left/op")
	b.ReportMetric(float64(int64(h1)-int64(h0))/float64(b.N), "heap-bytes-left/op")
}
