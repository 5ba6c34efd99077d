package trunk

import (
	"fmt"
	"testing"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
	"github.com/qrtn/qrtn/qrtp/netsim/udprelay"
	"github.com/qrtn/qrtn/sfu/sfutest"
	"github.com/qrtn/qrtn/trunk/route"
)

// BenchmarkLiveTrunkBytesPerViewer: a live room with one host on access
// node a and viewers spread over access nodes b, c and d, two forwarding
// hops away (a – f1 – f2 – {b, c, d}). It reports the media bytes all
// trunks carry per viewer: one copy per trunk link whatever the audience,
// so the figure falls as 1/viewers. With loss, every trunk crosses a relay
// with that random loss each way (5 ms delay), and trunk_wire counts all
// the bytes the trunks sent: media, FEC, retransmissions and control.
//
//	go test -run XXX -bench LiveTrunkBytes -benchtime 1x ./trunk/
func BenchmarkLiveTrunkBytesPerViewer(b *testing.B) {
	type run struct {
		viewers int
		loss    float64
	}
	for _, r := range []run{{3, 0}, {6, 0}, {12, 0}, {24, 0}, {3, 0.2}, {24, 0.2}} {
		viewers := r.viewers
		b.Run(fmt.Sprintf("viewers=%d/loss=%.0f%%", viewers, 100*r.loss), func(b *testing.B) {
			spec := netSpec{
				nodes: map[string]route.Role{"a": route.Access, "b": route.Access, "c": route.Access, "d": route.Access,
					"f1": route.Forwarding, "f2": route.Forwarding},
				trunks: [][2]string{{"a", "f1"}, {"f1", "f2"}, {"b", "f2"}, {"c", "f2"}, {"d", "f2"}},
			}
			if r.loss > 0 {
				rs := &relays{t: b, by: map[[2]string]*udprelay.Relay{},
					up: netsim.LinkConfig{Delay: 5 * time.Millisecond, Loss: netsim.Bernoulli(r.loss)}}
				spec.addr = rs.addr
			}
			nodes := startNet(b, spec)
			waitTrunks(b, nodes)
			joinClient(b, nodes["a"].sfu, "show", "live", "host", sfutest.Options{Layers: []string{""}, Audio: true})
			var vs []*client
			for i := range viewers {
				at := []string{"b", "c", "d"}[i%3]
				vs = append(vs, joinClient(b, nodes[at].sfu, "show", "live", fmt.Sprintf("v%d", i), sfutest.Options{Subscribe: true}))
			}
			for _, v := range vs {
				v.waitRecv("the host", 30*time.Second, func(st map[string]sfutest.TrackStats) bool {
					vt, ok := trackOf(st, "video")
					return ok && vt.Packets > 30
				})
			}
			trunkBytes := func() (total, wire uint64, links int) {
				for _, n := range nodes {
					for _, tk := range n.tr.Status().Trunks {
						if tk.MediaBytesSent > 0 {
							links++
						}
						total += tk.MediaBytesSent
						wire += tk.BytesSent
					}
				}
				return total, wire, links
			}
			recv := func() (total int) {
				for _, v := range vs {
					for _, s := range v.c.Received() {
						total += s.Bytes
					}
				}
				return total
			}
			time.Sleep(time.Second) // let the snapshot catch up
			b.ResetTimer()
			for range b.N {
				t0, r0 := time.Now(), recv()
				s0, w0, _ := trunkBytes()
				time.Sleep(5 * time.Second)
				time.Sleep(statusEvery) // the status snapshot is this old at most
				s1, w1, links := trunkBytes()
				secs := time.Since(t0).Seconds()
				b.ReportMetric(float64(s1-s0)*8/1e3/secs/float64(viewers), "trunk_kbit/s/viewer")
				b.ReportMetric(float64(s1-s0)*8/1e3/secs, "trunk_kbit/s")
				b.ReportMetric(float64(w1-w0)*8/1e3/secs/float64(viewers), "trunk_wire_kbit/s/viewer")
				b.ReportMetric(float64(recv()-r0)*8/1e3/secs/float64(viewers), "recv_kbit/s/viewer")
				b.ReportMetric(float64(links), "trunk_links_used")
			}
		})
	}
}
