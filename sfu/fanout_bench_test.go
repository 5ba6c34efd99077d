package sfu

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/qrtn/qrtn/sfu/sfutest"
)

// BenchmarkFanOut measures the node's whole send path for one forwarded
// video packet: the receiver's fan-out, each down-track, the interceptors,
// SRTP and the ICE socket write, to real pion subscribers over loopback
// (sfutest clients, which send transport-cc feedback as browsers do; the
// NoTWCC variant negotiates none). Packets are fed into a track published
// by code (as a trunk does), paced so that the subscribers keep up.
//
// Wall time is noisy on a shared machine; count instructions instead, on
// the fan-out only (docs/sfu-benchmarks.md, round 4):
//
//	go test -c -o /tmp/sfu.test ./sfu/
//	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind \
//	    --toggle-collect='github.com/qrtn/qrtn/sfu.fanOutMeasured' \
//	    /tmp/sfu.test -test.run XXX -test.bench 'FanOut$' -test.benchtime 2000x
//
// and divide the instructions by the forwarded/op metric × the packets
// fed (-test.benchtime). The count includes what other goroutines run on
// the feeding thread when it is preempted in the middle of a packet
// (under valgrind that happens): compare builds at the same -benchtime.
func BenchmarkFanOut(b *testing.B)       { benchFanOut(b, 8, false) }
func BenchmarkFanOutNoTWCC(b *testing.B) { benchFanOut(b, 8, true) }

// BenchmarkFanOutWide is BenchmarkFanOut with 64 subscribers: what grows
// per packet with the room (each down-track's state, pion's per-connection
// state and the socket's peers are swept once per packet, so they fall out
// of the caches), for the same callgrind command with --cache-sim=yes.
func BenchmarkFanOutWide(b *testing.B)       { benchFanOut(b, 64, false) }
func BenchmarkFanOutWideNoTWCC(b *testing.B) { benchFanOut(b, 64, true) }

// kfUpstream remembers key frame requests.
type kfUpstream struct{ want atomic.Bool }

func (u *kfUpstream) RequestKeyframe(int)    { u.want.Store(true) }
func (u *kfUpstream) SetLayersWanted([]bool) {}

// fanOutMeasured feeds one measured packet: callgrind's --toggle-collect
// names it. fanOutWarm feeds the packets before (not counted).
//
//go:noinline
func fanOutMeasured(send func([]byte), pkt []byte) { send(pkt) }

//go:noinline
func fanOutWarm(send func([]byte), pkt []byte) { send(pkt) }

func benchFanOut(b *testing.B, subs int, noTWCC bool) {
	s := newTestSFU(b, func(c *Config) { c.InitialBitrate = 10_000_000 })
	b.Cleanup(func() { _ = s.Close() })
	ghost, err := s.Join("bench", "", ParticipantParams{ID: "pub", CanPublish: true, Remote: true})
	if err != nil {
		b.Fatal(err)
	}
	up := &kfUpstream{}
	r, err := ghost.PublishTrack(TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec:  webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		Layers: []string{"s", "l"}, Upstream: up})
	if err != nil {
		b.Fatal(err)
	}
	peers := make([]*peer, subs)
	for i := range peers {
		peers[i] = join(b, s, "bench", fmt.Sprintf("sub%d", i), sfutest.Options{Subscribe: true, NoTWCC: noTWCC})
		peers[i].p.Prefer("pub", QualityLarge)
	}
	// Templates (first packet of a key frame, of a delta frame, and the
	// rest), patched per packet: the measured call is WriteRTP alone.
	const perFrame = 4
	tmpl := func(start, key bool) []byte {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: vp8Payload(start, key, 0, 0, 1100)}
		raw, err := p.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	keyT, deltaT, restT := tmpl(true, true), tmpl(true, false), tmpl(false, false)
	seq, frame := uint16(0), 0
	raw := make([]byte, 1500)
	next := func() []byte {
		k := int(seq) % perFrame
		t := restT
		if k == 0 {
			t = deltaT
			if frame == 0 || up.want.Swap(false) {
				t = keyT
			}
		}
		out := raw[:copy(raw, t)]
		out[1] = 96
		if k == perFrame-1 {
			out[1] |= 0x80 // marker
		}
		binary.BigEndian.PutUint16(out[2:], seq)
		binary.BigEndian.PutUint32(out[4:], uint32(frame)*3000)
		binary.BigEndian.PutUint16(out[14:], 0x8000|uint16(frame)&0x7fff) // VP8 picture ID
		seq++
		if k == perFrame-1 {
			frame++
		}
		return out
	}
	send := func(raw []byte) {
		if err := r.WriteRTP(1, raw, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	// Until every subscriber receives the large layer.
	deadline := time.Now().Add(20 * time.Second)
	for _, pr := range peers {
		for {
			v, ok := trackOf(pr.c.Received(), "video")
			if ok && v.Packets > 20 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s never received the large layer: %+v; %+v", pr.p.ID(), pr.c.Received(), s.Snapshot())
			}
			fanOutWarm(send, next())
			time.Sleep(2 * time.Millisecond)
		}
	}
	flush := func() uint64 {
		for _, d := range *r.downs.Load() {
			d.wmu.Lock()
			d.flushCountsLocked()
			d.wmu.Unlock()
		}
		return s.Stats().PacketsForwarded
	}
	before := flush()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pkt := next()
		t0 := threadCPU()
		fanOutMeasured(send, pkt)
		cpu += threadCPU() - t0
		time.Sleep(time.Millisecond) // ≈ a 4 Mbit/s stream: the clients keep up
	}
	b.StopTimer()
	fwd := flush() - before
	b.ReportMetric(float64(fwd)/float64(b.N), "forwarded/op")
	if fwd > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(fwd), "cpu-ns/forwarded")
	}
	if os.Getenv("FANOUT_VERBOSE") != "" {
		for _, pr := range peers {
			v, _ := trackOf(pr.c.Received(), "video")
			b.Logf("%s: %+v", pr.p.ID(), v)
		}
	}
}
