package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// BenchmarkForwardVideo measures the SFU's own work per forwarded video
// packet and subscriber: parse once, then per down-track the forwarder,
// the VP8 rewrite and the copy. SRTP and the socket (pion's share) are
// not included; qrtn loadtest measures the whole path.
func BenchmarkForwardVideo(b *testing.B) {
	const subs = 100
	r := newReceiver(testOwner(), TrackParams{ID: "v", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, Layers: []string{"s", "l"}}, 512, time.Now())
	for i := 0; i < subs; i++ {
		d := newDownTrack(r, nil)
		if _, err := d.Bind(&nullBinding{fakeBinding{ssrc: webrtc.SSRC(i + 1), codecs: []webrtc.RTPCodecParameters{
			{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}}}}); err != nil {
			b.Fatal(err)
		}
		d.setDecision(1, false, "", time.Now())
		r.addDown(d)
	}
	pkts := make([][]byte, 64)
	for i := range pkts {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(i), Timestamp: uint32(i/4) * 3000},
			Payload: vp8Payload(i%4 == 0, i == 0, uint16(i/4), 0, 1100)}
		pkts[i], _ = p.Marshal()
	}
	now := time.Now()
	b.SetBytes(int64(len(pkts[1])) * subs)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		raw := pkts[i%len(pkts)]
		seq := uint16(i)
		raw[2], raw[3] = byte(seq>>8), byte(seq)
		if err := r.WriteRTP(1, raw, now); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	perPkt := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / subs
	b.ReportMetric(perPkt, "ns/packet/subscriber")
}

// nullBinding discards what is written.
type nullBinding struct{ fakeBinding }

func (n *nullBinding) WriteStream() webrtc.TrackLocalWriter                { return n }
func (n *nullBinding) WriteRTP(_ *rtp.Header, payload []byte) (int, error) { return len(payload), nil }
