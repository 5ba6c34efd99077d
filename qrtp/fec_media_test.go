package qrtp_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// mediaConfig is one run of the trunk media case: 7500-byte frames at
// 25 fps (1500 kbit/s), each one message with a deadline, over a path
// with random loss.
type mediaConfig struct {
	seed        uint64
	rtt         time.Duration
	loss        float64           // forward (media) direction
	reverseLoss float64           // the ACK direction
	lossModel   *netsim.LossModel // instead of loss, if set
	cc          string
	profile     string
	fecBudget   float64 // 0: the profile's; < 0: no FEC
	deadline    time.Duration
	fecLatency  time.Duration // the stream's FECLatency
	// parts > 1 sends each frame as that many messages, as a trunk sends
	// the RTP packets of a video frame; more sends all but the last with
	// SendMessageMore. A frame arrives when its last part does.
	parts        int
	more         bool
	audio        bool // also 100-byte messages every 20 ms on a second stream
	warmup, span time.Duration
	trace        func(now time.Duration, st qrtp.ConnStats)
}

// mediaResult is what the receiver saw of the frames sent in the
// measurement span, and the sender's connection at the end.
type mediaResult struct {
	sent, delivered, within400 int
	p50, p95, p99              time.Duration // -1: beyond what arrived
	stalls600                  int
	// st and rst are the sender's and the receiver's connections at the
	// end; st's sending counters (bytes, FEC, retransmissions, losses)
	// cover only the span, from its start to a second after its end, so
	// that what the first round trips of a fresh connection spent (FEC
	// sized for a cautious loss before the estimate exists) is left to
	// the tests that look at it.
	st, rst qrtp.ConnStats
	// late lists when (after the span began) each frame that was not
	// complete within 400 ms was sent.
	late []time.Duration
}

func (r mediaResult) String() string {
	return fmt.Sprintf("frames %d delivered %d, within 400 ms %.2f%%, p50 %v p95 %v p99 %v, stalls %d; fec ratio %.1f%%, K=%d M=%d, recovered %d (peer %d), lost %d/%d, retransmitted %d B, expired %d",
		r.sent, r.delivered, 100*float64(r.within400)/float64(max(r.sent, 1)), r.p50, r.p95, r.p99, r.stalls600,
		100*r.st.FECRatio, r.st.FECK, r.st.FECM, r.rst.FECRecovered, r.st.FECPeerRecovered, r.st.PacketsLost, r.st.PacketsSent, r.st.BytesRetransmitted, r.st.MessagesExpired)
}

func runMedia(t testing.TB, cfg mediaConfig) mediaResult {
	t.Helper()
	sim := newSim(t, cfg.seed)
	fwd := netsim.LinkConfig{Rate: 100e6, Delay: cfg.rtt / 2, QueueBytes: netsim.QueueBDP(100e6, cfg.rtt, 1), Loss: netsim.Bernoulli(cfg.loss)}
	if cfg.lossModel != nil {
		fwd.Loss = *cfg.lossModel
	}
	rev := fwd
	rev.Loss = netsim.Bernoulli(cfg.reverseLoss)
	sim.SetPath(clientAddr, serverAddr, fwd, rev)
	srv := newPeer(t, sim, serverAddr, 2, nil)
	cli := newPeer(t, sim, clientAddr, 1, nil)
	key := srv.key.Public
	cc, prof := cfg.cc, cfg.profile
	if cc == "" {
		cc = "qbbr"
	}
	if prof == "" {
		prof = "meeting"
	}
	conn, err := cli.ep.Connect(sim.Now(), serverAddr, &key, qrtp.ConnConfig{Profile: prof, CongestionControl: cc})
	if err != nil {
		t.Fatal(err)
	}
	s, err := conn.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage, FECBudget: cfg.fecBudget, FECLatency: cfg.fecLatency})
	if err != nil {
		t.Fatal(err)
	}
	var audio *qrtp.Stream
	if cfg.audio {
		if audio, err = conn.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage, FECBudget: cfg.fecBudget, FECLatency: cfg.fecLatency}); err != nil {
			t.Fatal(err)
		}
		defer sim.Every(20*time.Millisecond, func() {
			_, _ = audio.SendMessage(sim.Now(), make([]byte, 100), sim.Now().Add(cfg.deadline))
		})()
	}
	var sent []time.Time
	arrived := map[uint64]time.Time{}
	parts := max(cfg.parts, 1)
	partsIn := map[uint64]int{}
	frame := make([]byte, 7500)
	send := func() {
		now := sim.Now()
		binary.BigEndian.PutUint64(frame, uint64(len(sent)))
		sent = append(sent, now)
		n := len(frame) / parts
		for i := range parts {
			part := frame[i*n:]
			if i < parts-1 {
				part = part[:n]
			}
			binary.BigEndian.PutUint64(part, uint64(len(sent)-1))
			if cfg.more && i < parts-1 {
				_, _ = s.SendMessageMore(now, part, now.Add(cfg.deadline))
			} else {
				_, _ = s.SendMessage(now, part, now.Add(cfg.deadline))
			}
		}
	}
	var sconn *qrtp.Conn
	var rs *qrtp.Stream
	srv.app = func(now time.Time) {
		if sconn == nil {
			if sconn = srv.ep.Accept(); sconn == nil {
				return
			}
		}
		for rs == nil {
			if rs = sconn.AcceptStream(); rs == nil {
				break
			}
			if rs.ID() != s.ID() {
				rs = nil // the audio stream: only frames are measured
			}
		}
		for rs != nil {
			m, ok := rs.ReadMessage()
			if !ok {
				break
			}
			id := binary.BigEndian.Uint64(m.Data)
			if partsIn[id]++; partsIn[id] == parts {
				arrived[id] = now
			}
		}
		drainEvents(sconn)
	}
	cli.app = func(time.Time) { drainEvents(conn) }
	_ = sim.Wake(clientAddr)
	// Media starts on an established connection: at 50% loss both ways a
	// handshake can take seconds of retransmissions, which is not what
	// this measures.
	if !sim.RunWhile(func() bool { return !conn.Established() }, sim.Now().Add(30*time.Second)) {
		t.Fatal("no connection")
	}
	send()
	stop := sim.Every(40*time.Millisecond, send)
	if cfg.trace != nil {
		start := sim.Now()
		defer sim.Every(250*time.Millisecond, func() { cfg.trace(sim.Now().Sub(start), conn.Stats()) })()
	}
	from := sim.Now().Add(cfg.warmup)
	to := from.Add(cfg.span)
	var st0 qrtp.ConnStats
	sim.At(from, func() { st0 = conn.Stats() })
	sim.RunUntil(to)
	stop()
	sim.RunFor(time.Second)
	r := mediaResult{st: spanStats(conn.Stats(), st0)}
	if sconn != nil {
		r.rst = sconn.Stats()
	}
	var lat []time.Duration
	var done []time.Time
	for i, at := range sent {
		if at.Before(from) || !at.Before(to) {
			continue
		}
		r.sent++
		a, ok := arrived[uint64(i)]
		if !ok || a.Sub(at) > 400*time.Millisecond {
			r.late = append(r.late, at.Sub(from))
		}
		if !ok {
			continue
		}
		r.delivered++
		lat = append(lat, a.Sub(at))
		done = append(done, a)
		if a.Sub(at) <= 400*time.Millisecond {
			r.within400++
		}
	}
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if i := int(q * float64(r.sent)); i < len(lat) {
			return lat[i]
		}
		return -1
	}
	r.p50, r.p95, r.p99 = pct(0.5), pct(0.95), pct(0.99)
	slices.SortFunc(done, func(a, b time.Time) int { return a.Compare(b) })
	last := from
	for _, d := range done {
		if d.After(to) {
			break
		}
		if d.Sub(last) >= 600*time.Millisecond {
			r.stalls600++
		}
		last = d
	}
	if to.Sub(last) >= 600*time.Millisecond {
		r.stalls600++
	}
	return r
}

// spanStats is end with its sending counters taken since start.
func spanStats(end, start qrtp.ConnStats) qrtp.ConnStats {
	end.BytesSent -= start.BytesSent
	end.BytesRetransmitted -= start.BytesRetransmitted
	end.PacketsSent -= start.PacketsSent
	end.PacketsLost -= start.PacketsLost
	end.FECBytesSent -= start.FECBytesSent
	end.FECPacketsSent -= start.FECPacketsSent
	end.FECSourcePackets -= start.FECSourcePackets
	end.MessagesExpired -= start.MessagesExpired
	end.FECRatio = 0
	if end.BytesSent > 0 {
		end.FECRatio = float64(end.FECBytesSent) / float64(end.BytesSent)
	}
	return end
}

// TestFECOffOnCleanLink: media on a loss-free path sends no repair once
// the loss estimate exists (the first round trip of media is protected
// for a cautious loss until then: TestFECFirstFrames).
func TestFECOffOnCleanLink(t *testing.T) {
	r := runMedia(t, mediaConfig{seed: 3, rtt: 200 * time.Millisecond, deadline: 400 * time.Millisecond, warmup: time.Second, span: 5 * time.Second})
	if r.st.FECBytesSent != 0 || r.st.FECPacketsSent != 0 || r.st.FECK != 0 || r.rst.FECRecovered != 0 {
		t.Fatalf("FEC on a clean link: %v", r)
	}
	if r.within400 != r.sent || r.sent < 100 {
		t.Fatalf("clean link: %v", r)
	}
}

// TestFECRisesWithLoss: the policy spends more redundancy as loss grows,
// and rebuilds packets at every level.
func TestFECRisesWithLoss(t *testing.T) {
	prev := 0.0
	for _, loss := range []float64{0.05, 0.2, 0.5} {
		r := runMedia(t, mediaConfig{seed: 4, rtt: 200 * time.Millisecond, loss: loss, deadline: 400 * time.Millisecond, warmup: time.Second, span: 5 * time.Second})
		t.Logf("loss %.0f%%: %v", 100*loss, r)
		if r.st.FECRatio <= prev || r.rst.FECRecovered == 0 {
			t.Fatalf("loss %.0f%%: FEC ratio %.3f after %.3f at the lower loss, %d rebuilt", 100*loss, r.st.FECRatio, prev, r.rst.FECRecovered)
		}
		prev = r.st.FECRatio
	}
}

// TestFECMediaAt50PercentLoss is the trunk media case: 1500 kbit/s at
// 25 fps, RTT 200 ms, 50% random loss on data and ACKs alike. With FEC
// nearly every frame arrives within 400 ms, most without waiting for a
// retransmission; without FEC most frames miss it. Virtual time: the
// figures are deterministic, and their exact values are benchmarks'.
func TestFECMediaAt50PercentLoss(t *testing.T) {
	cfg := mediaConfig{seed: 5, rtt: 200 * time.Millisecond, loss: 0.5, reverseLoss: 0.5, deadline: 400 * time.Millisecond, warmup: 2 * time.Second, span: 8 * time.Second}
	with := runMedia(t, cfg)
	cfg.fecBudget = -1
	without := runMedia(t, cfg)
	t.Logf("with FEC: %v", with)
	t.Logf("without FEC: %v", without)
	share := func(r mediaResult) float64 { return float64(r.within400) / float64(r.sent) }
	if share(with) < 0.98 || with.p95 < 0 || with.p95 > 200*time.Millisecond {
		t.Errorf("with FEC: %.1f%% within 400 ms, p95 %v", 100*share(with), with.p95)
	}
	if share(without) > 0.5 {
		t.Errorf("without FEC: %.1f%% within 400 ms; FEC should be what makes the difference", 100*share(without))
	}
	// Packets were rebuilt, and so reported to the sender. (What FEC
	// cannot rebuild is retransmitted while the deadline allows; sized for
	// a 0.1% miss, FEC may leave nothing to retransmit in 8 s.)
	if with.rst.FECRecovered == 0 || with.st.FECPeerRecovered < with.rst.FECRecovered*9/10 {
		t.Errorf("rebuilt %d, reported %d", with.rst.FECRecovered, with.st.FECPeerRecovered)
	}
	if without.st.FECBytesSent != 0 {
		t.Errorf("FEC disabled on the stream, yet %d FEC bytes sent", without.st.FECBytesSent)
	}
}

// TestFECGroupSpansMessagesOfAUnit: a frame sent as six messages (one per
// packet, as a trunk relays RTP) is protected as one group when all but
// the last go with SendMessageMore. Sealed at every message end instead,
// each packet is its own group and its repairs are copies of it: more
// overhead for less protection (RTT 100 ms, 40% loss, deadline of one
// retransmission round, virtual time; at 50% both spend the whole budget).
func TestFECGroupSpansMessagesOfAUnit(t *testing.T) {
	cfg := mediaConfig{seed: 7, rtt: 100 * time.Millisecond, loss: 0.4, reverseLoss: 0.4, fecBudget: 3,
		deadline: 285 * time.Millisecond, parts: 6, warmup: 2 * time.Second, span: 8 * time.Second}
	apart := runMedia(t, cfg)
	cfg.more = true
	unit := runMedia(t, cfg)
	t.Logf("one group per message: %v", apart)
	t.Logf("one group per frame: %v", unit)
	if unit.p95 < 0 || unit.p95 > cfg.rtt/2+30*time.Millisecond || unit.delivered != unit.sent {
		t.Errorf("frames sent with SendMessageMore: p95 %v, %d of %d delivered; want within one way + 30 ms", unit.p95, unit.delivered, unit.sent)
	}
	if unit.st.FECK < 6 || unit.st.FECRatio >= apart.st.FECRatio {
		t.Errorf("K=%d, FEC ratio %.3f with SendMessageMore against %.3f without; want frame-sized groups at less overhead",
			unit.st.FECK, unit.st.FECRatio, apart.st.FECRatio)
	}
}

// TestFECLatencyUnderLongDeadline: with an 800 ms deadline on a 100 ms
// RTT path, retransmission alone can deliver nearly every frame in time,
// so the policy spends (next to) nothing on FEC and frames that lose a
// packet wait a round trip. FECLatency asks for them sooner: FEC is sized as for a
// 250 ms deadline, while retransmission still repairs anything FEC missed
// until the real deadline, so nothing expires.
func TestFECLatencyUnderLongDeadline(t *testing.T) {
	cfg := mediaConfig{seed: 7, rtt: 100 * time.Millisecond, loss: 0.2, reverseLoss: 0.2, fecBudget: 3,
		deadline: 800 * time.Millisecond, parts: 6, more: true, warmup: 2 * time.Second, span: 8 * time.Second}
	plain := runMedia(t, cfg)
	cfg.fecLatency = 250 * time.Millisecond
	fast := runMedia(t, cfg)
	t.Logf("deadline 800 ms: %v", plain)
	t.Logf("and FECLatency 250 ms: %v", fast)
	if plain.st.FECRatio > 0.01 || plain.p95 < cfg.rtt {
		t.Errorf("without FECLatency: FEC %d bytes, p95 %v; want no FEC and retransmission rounds in the tail", plain.st.FECBytesSent, plain.p95)
	}
	if fast.p95 < 0 || fast.p95 > cfg.rtt/2+30*time.Millisecond || fast.delivered != fast.sent || fast.st.MessagesExpired != 0 {
		t.Errorf("with FECLatency: p95 %v, %d of %d delivered, %d expired; want within one way + 30 ms and nothing lost",
			fast.p95, fast.delivered, fast.sent, fast.st.MessagesExpired)
	}
}

// BenchmarkFECMedia reports the trunk media figures (frame latency
// percentiles, share within 400 ms, FEC overhead) for qbbr over a 100
// Mbit/s path with random loss on both directions, in virtual time. One
// iteration is one 10-second run.
func BenchmarkFECMedia(b *testing.B) {
	for _, rtt := range []time.Duration{20 * time.Millisecond, 200 * time.Millisecond} {
		for _, loss := range []float64{0, 0.05, 0.2, 0.5} {
			b.Run(fmt.Sprintf("rtt=%v/loss=%.0f%%", rtt, 100*loss), func(b *testing.B) {
				var r mediaResult
				for range b.N {
					r = runMedia(b, mediaConfig{seed: 1, rtt: rtt, loss: loss, reverseLoss: loss, deadline: 400 * time.Millisecond, warmup: 2 * time.Second, span: 10 * time.Second})
				}
				ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
				b.ReportMetric(ms(r.p50), "p50-ms")
				b.ReportMetric(ms(r.p95), "p95-ms")
				b.ReportMetric(ms(r.p99), "p99-ms")
				b.ReportMetric(100*float64(r.within400)/float64(r.sent), "%within400")
				b.ReportMetric(100*r.st.FECRatio, "%fec")
				b.ReportMetric(float64(r.stalls600), "stalls")
			})
		}
	}
	// Loss in bursts (a Gilbert chain with mean runs of 4 packets) on data.
	for _, loss := range []float64{0.05, 0.2} {
		b.Run(fmt.Sprintf("rtt=200ms/loss=%.0f%%/burst=4", 100*loss), func(b *testing.B) {
			m, err := netsim.Burst(loss, 4)
			if err != nil {
				b.Fatal(err)
			}
			var r mediaResult
			for range b.N {
				r = runMedia(b, mediaConfig{seed: 1, rtt: 200 * time.Millisecond, lossModel: &m, deadline: 400 * time.Millisecond, warmup: 2 * time.Second, span: 10 * time.Second})
			}
			b.ReportMetric(float64(r.p95)/1e6, "p95-ms")
			b.ReportMetric(100*float64(r.within400)/float64(r.sent), "%within400")
			b.ReportMetric(100*r.st.FECRatio, "%fec")
		})
	}
}
