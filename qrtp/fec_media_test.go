package qrtp_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// mediaConfig is one run of the trunk media case: 7500-byte frames at
// 25 fps (1500 kbit/s), each one message with a deadline, over a path
// with random loss.
type mediaConfig struct {
	seed         uint64
	rtt          time.Duration
	loss         float64 // forward (media) direction
	reverseLoss  float64 // the ACK direction
	cc           string
	profile      string
	fecBudget    float64 // 0: the profile's; < 0: no FEC
	deadline     time.Duration
	warmup, span time.Duration
	trace        func(now time.Duration, st qrtp.ConnStats)
}

// mediaResult is what the receiver saw of the frames sent in the
// measurement span, and the sender's connection at the end.
type mediaResult struct {
	sent, delivered, within400 int
	p50, p95, p99              time.Duration // -1: beyond what arrived
	stalls600                  int
	st, rst                    qrtp.ConnStats
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
	s, err := conn.OpenStream(qrtp.StreamOptions{Mode: qrtp.ModeMessage, FECBudget: cfg.fecBudget})
	if err != nil {
		t.Fatal(err)
	}
	var sent []time.Time
	arrived := map[uint64]time.Time{}
	frame := make([]byte, 7500)
	send := func() {
		now := sim.Now()
		binary.BigEndian.PutUint64(frame, uint64(len(sent)))
		sent = append(sent, now)
		_, _ = s.SendMessage(now, frame, now.Add(cfg.deadline))
	}
	var sconn *qrtp.Conn
	var rs *qrtp.Stream
	srv.app = func(now time.Time) {
		if sconn == nil {
			if sconn = srv.ep.Accept(); sconn == nil {
				return
			}
		}
		if rs == nil {
			rs = sconn.AcceptStream()
		}
		for rs != nil {
			m, ok := rs.ReadMessage()
			if !ok {
				break
			}
			if _, dup := arrived[binary.BigEndian.Uint64(m.Data)]; !dup {
				arrived[binary.BigEndian.Uint64(m.Data)] = now
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
	sim.RunUntil(to)
	stop()
	sim.RunFor(time.Second)
	r := mediaResult{st: conn.Stats()}
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

func TestFECMediaExplore(t *testing.T) {
	if testing.Short() || !*explore {
		t.Skip("exploration: go test -run FECMediaExplore -explore -v ./qrtp")
	}
	for _, rtt := range exploreRTTs() {
		for _, loss := range exploreLosses() {
			for _, rev := range []float64{0, loss} {
				r := runMedia(t, mediaConfig{seed: 1, rtt: rtt, loss: loss, reverseLoss: rev, deadline: 400 * time.Millisecond, warmup: 2 * time.Second, span: 12 * time.Second})
				t.Logf("rtt %v loss %.0f%%/%.0f%%: %v", rtt, 100*loss, 100*rev, r)
				if loss == 0 {
					break
				}
			}
		}
	}
}

var explore = flag.Bool("explore", false, "run exploration tests that print figures")

func exploreRTTs() []time.Duration {
	if v := os.Getenv("RTT"); v != "" {
		d, _ := time.ParseDuration(v)
		return []time.Duration{d}
	}
	return []time.Duration{20 * time.Millisecond, 200 * time.Millisecond}
}

func exploreLosses() []float64 {
	if v := os.Getenv("LOSS"); v != "" {
		f, _ := strconv.ParseFloat(v, 64)
		return []float64{f}
	}
	return []float64{0, 0.05, 0.2, 0.5}
}

func TestFECMediaTrace(t *testing.T) {
	if !*explore {
		t.Skip("exploration")
	}
	rtt, loss := exploreRTTs()[0], exploreLosses()[0]
	budget, _ := strconv.ParseFloat(os.Getenv("BUDGET"), 64)
	cfg := mediaConfig{seed: 1, rtt: rtt, loss: loss, reverseLoss: loss, fecBudget: budget, deadline: 400 * time.Millisecond, warmup: 2 * time.Second, span: 12 * time.Second}
	cfg.trace = func(now time.Duration, st qrtp.ConnStats) {
		t.Logf("%6.2fs cwnd %6d inflight %6d pacing %5.1f Mbit/s srtt %v state %s ptos %d sent %d lost %d K=%d M=%d est %.2f/%.2f",
			now.Seconds(), st.CWND, st.BytesInFlight, st.PacingRate*8/1e6, st.SmoothedRTT, st.Controller.State, st.PTOCount, st.PacketsSent, st.PacketsLost, st.FECK, st.FECM, st.LossEstimate, st.LossBurst)
	}
	t.Log(runMedia(t, cfg))
}
