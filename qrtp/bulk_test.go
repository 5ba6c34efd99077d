package qrtp_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/qrtp/netsim"
)

// bulkResult is what runBulk measured.
type bulkResult struct {
	elapsed time.Duration
	stats   qrtp.ConnStats
	sim     netsim.Stats
}

// runBulk sends size bytes over one reliable stream across a link with the
// given configuration in both directions and checks them byte for byte.
func runBulk(t testing.TB, size int, lc netsim.LinkConfig, cfg qrtp.ConnConfig, limit time.Duration) bulkResult {
	t.Helper()
	sim := newSim(t, 11)
	link(sim, lc)
	srv := newPeer(t, sim, serverAddr, 2, func(c *qrtp.Config) { c.Conn = cfg })
	cli := newPeer(t, sim, clientAddr, 1, nil)
	src := &source{data: pattern(size, 9)}
	var dst sink
	dst.got.Grow(size)
	key := srv.key.Public
	conn, err := cli.ep.Connect(sim.Now(), serverAddr, &key, cfg)
	if err != nil {
		t.Fatal(err)
	}
	src.s, _ = conn.OpenStream(qrtp.StreamOptions{})
	cli.app = func(time.Time) { src.fill() }
	var sconn *qrtp.Conn
	srv.app = func(time.Time) {
		if sconn == nil {
			if sconn = srv.ep.Accept(); sconn == nil {
				return
			}
		}
		if dst.s == nil {
			dst.s = sconn.AcceptStream()
		}
		dst.drain()
	}
	_ = sim.Wake(clientAddr)
	start := sim.Now()
	sim.RunWhile(func() bool { return !dst.eof }, start.Add(limit))
	if !dst.eof {
		t.Fatalf("transfer incomplete after %v: %d of %d bytes; client %+v", limit, dst.got.Len(), size, conn.Stats())
	}
	if !bytes.Equal(dst.got.Bytes(), src.data) {
		t.Fatalf("received bytes differ from sent bytes")
	}
	return bulkResult{elapsed: sim.Now().Sub(start), stats: conn.Stats(), sim: sim.Stats()}
}

// TestBulk50MBGilbertElliott30: 50 MB across 30% Gilbert-Elliott loss (mean
// burst 2 packets) in both directions, verified byte for byte. Under the
// race detector a 5 MB transfer checks the same paths in a fraction of
// the time; the full size runs without it.
func TestBulk50MBGilbertElliott30(t *testing.T) {
	loss, err := netsim.Burst(0.30, 2)
	if err != nil {
		t.Fatal(err)
	}
	size := 50 << 20
	if testing.Short() {
		size = shortBulkSize
	}
	if raceEnabled {
		size = 5 << 20
	}
	lc := netsim.LinkConfig{Rate: 200e6, Delay: 10 * time.Millisecond, QueueBytes: 500_000, Loss: loss}
	r := runBulk(t, size, lc, qrtp.ConnConfig{Profile: "bulk"}, 4*time.Hour)
	st := r.stats
	t.Logf("%d MB in %v virtual: %.1f Mbit/s goodput; sent %d pkts, lost %d (%.1f%%), spurious %d, retransmitted %.1f%% of payload, srtt %v, cwnd %d",
		size>>20, r.elapsed, float64(size)*8/r.elapsed.Seconds()/1e6, st.PacketsSent, st.PacketsLost,
		100*st.LossRate, st.SpuriousLosses, 100*float64(st.BytesRetransmitted)/float64(size), st.SmoothedRTT, st.CWND)
}
