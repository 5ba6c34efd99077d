package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// TestSenderReports: a media stream's SR counts its own packets only,
// maps the newest frame's RTP timestamp to the time its first packet
// went out, ignores out-of-order packets for the mapping, and carries
// the NTP time the subscriber echoes (LSR) for the round trip.
func TestSenderReports(t *testing.T) {
	i, _ := srFactory{}.NewInterceptor("pc")
	s := i.(*srInterceptor)
	defer func() { _ = s.Close() }()
	w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, ClockRate: 90000},
		interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	st := s.streams[7]
	if st.report(time.Now()) != nil {
		t.Fatal("a report before anything was sent")
	}
	send := func(ssrc uint32, seq uint16, ts uint32, n int) {
		_, _ = w.Write(&rtp.Header{SSRC: ssrc, SequenceNumber: seq, Timestamp: ts}, make([]byte, n), nil)
	}
	send(7, 10, 9000, 100)
	first := st.lastAt
	send(7, 11, 9000, 100) // same frame: the mapping stays
	send(8, 900, 100, 500) // RTX: not counted
	send(7, 5, 1, 100)     // a resend on the media SSRC: counted, no mapping
	if st.lastAt != first || st.lastTS != 9000 {
		t.Fatalf("mapping moved: %d at %v", st.lastTS, st.lastAt)
	}
	send(7, 12, 12000, 50)
	now := st.lastAt.Add(500 * time.Millisecond)
	sr := st.report(now)
	if sr.SSRC != 7 || sr.PacketCount != 4 || sr.OctetCount != 350 {
		t.Fatalf("report %+v", sr)
	}
	if sr.RTPTime != 12000+45000 {
		t.Fatalf("RTP time %d, want %d", sr.RTPTime, 12000+45000)
	}
	if got := uint32(sr.NTPTime >> 16); got != ntpCompact(now) {
		t.Fatalf("NTP %x, compact %x", got, ntpCompact(now))
	}
	i.UnbindLocalStream(&interceptor.StreamInfo{SSRC: 7})
	if len(s.streams) != 0 {
		t.Fatal("stream still reported after unbind")
	}
}

// TestSenderReportLoop: the loop writes reports and stops on Close.
func TestSenderReportLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a report interval")
	}
	i, _ := srFactory{}.NewInterceptor("pc")
	got := make(chan rtcp.Packet, 4)
	i.BindRTCPWriter(interceptor.RTCPWriterFunc(func(p []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		select {
		case got <- p[0]:
		default:
		}
		return 0, nil
	}))
	w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 3, ClockRate: 48000},
		interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	_, _ = w.Write(&rtp.Header{SSRC: 3, SequenceNumber: 1, Timestamp: 960}, make([]byte, 10), nil)
	select {
	case p := <-got:
		if sr, ok := p.(*rtcp.SenderReport); !ok || sr.SSRC != 3 || sr.PacketCount != 1 {
			t.Fatalf("wrote %+v", p)
		}
	case <-time.After(5 * srInterval):
		t.Fatal("no sender report")
	}
	if err := i.Close(); err != nil {
		t.Fatal(err)
	}
}
