package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// TestTWCCInterceptorStamps: streams that negotiated transport-cc get
// consecutive transport-wide numbers, shared across the connection's
// streams, and are recorded; others pass untouched.
func TestTWCCInterceptorStamps(t *testing.T) {
	var est *estimator
	i, err := twccFactory{initial: 1_000_000, min: 100_000, max: 10_000_000,
		onNew: func(_ string, e *estimator) { est = e }}.NewInterceptor("pc")
	if err != nil || est == nil {
		t.Fatal("no estimator announced", err)
	}
	var got []*rtp.Header
	sink := interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
		c := h.Clone()
		got = append(got, &c)
		return 0, nil
	})
	ext := []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}}
	plain := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 1}, sink)
	a := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 2, RTPHeaderExtensions: ext}, sink)
	b := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 3, RTPHeaderExtensions: ext}, sink)
	_, _ = plain.Write(&rtp.Header{Version: 2, SSRC: 1}, make([]byte, 100), nil)
	_, _ = a.Write(&rtp.Header{Version: 2, SSRC: 2}, make([]byte, 100), nil)
	_, _ = b.Write(&rtp.Header{Version: 2, SSRC: 3}, make([]byte, 200), nil)
	_, _ = a.Write(&rtp.Header{Version: 2, SSRC: 2}, make([]byte, 300), nil)
	if len(got) != 4 || got[0].GetExtension(5) != nil {
		t.Fatalf("the stream without transport-cc was stamped: %+v", got[0])
	}
	for k, h := range got[1:] {
		x := h.GetExtension(5)
		if len(x) != 2 || int(x[0])<<8|int(x[1]) != k {
			t.Fatalf("packet %d: transport-wide number %v, want %d", k, x, k)
		}
		if _, size, ok := est.lookup(uint16(k), int64(time.Since(est.base)/time.Microsecond)); !ok || size != h.MarshalSize()+[]int{100, 200, 300}[k] {
			t.Fatalf("packet %d recorded as size %d (%v)", k, size, ok)
		}
	}
}

// TestTWCCFeedbackReachesCore: a report read through the interceptor
// acknowledges the packets it covers, with arrival times from its
// reference time and deltas, and losses.
func TestTWCCFeedbackReachesCore(t *testing.T) {
	est := newEstimator(1_000_000, 100_000, 10_000_000)
	for seq := range 6 {
		est.onSent(uint16(seq), 1000)
	}
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: 0, PacketStatusCount: 6, ReferenceTime: 100,
		PacketChunks: []rtcp.PacketStatusChunk{
			&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 3},
			&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: []uint16{
				rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketReceivedLargeDelta, rtcp.TypeTCCPacketNotReceived,
				rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketNotReceived, rtcp.TypeTCCPacketNotReceived}},
		},
		RecvDeltas: []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 2000},
			{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}, {Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: 4000}},
	}
	fb.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback, Length: uint16(fb.MarshalSize()/4 - 1)}
	raw, err := fb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tap := &rtcpTap{}
	tap.est.Store(est)
	if !tap.take(raw, time.Now()) {
		t.Fatal("the tap kept transport-cc feedback for the readers")
	}
	_, loss := est.evidence()
	// 2 of 6 lost in the report.
	if want := 2.0 / 6; loss < want-1e-9 || loss > want+1e-9 {
		t.Fatalf("loss %v, want %v", loss, want)
	}
	var arrivals []time.Duration
	est.mu.Lock()
	defer est.mu.Unlock()
	// Arrivals: 100×64 ms + 1, +2, +0.25, +4 ms.
	base := 100 * 64 * time.Millisecond
	arrivals = append(arrivals, base+time.Millisecond, base+3*time.Millisecond, base+3250*time.Microsecond, base+7250*time.Microsecond)
	s := est.core.rate[0]
	if est.core.rateN != 1 || s.bytes != 4000 || s.first != arrivals[0] || s.last != arrivals[3] {
		t.Fatalf("rate sample %+v (n %d), want 4000 bytes from %v to %v", s, est.core.rateN, arrivals[0], arrivals[3])
	}
}

// pionStatuses walks a report as pion parses it: each status symbol and,
// for a received packet, its delta.
func pionStatuses(fb *rtcp.TransportLayerCC) (syms []uint16, deltas []int64) {
	left, d := int(fb.PacketStatusCount), fb.RecvDeltas
	add := func(sym uint16) {
		var delta int64
		if sym == rtcp.TypeTCCPacketReceivedSmallDelta || sym == rtcp.TypeTCCPacketReceivedLargeDelta {
			delta, d = d[0].Delta, d[1:]
		}
		syms, deltas = append(syms, sym), append(deltas, delta)
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(c.RunLength) && left > 0; i++ {
				add(c.PacketStatusSymbol)
				left--
			}
		case *rtcp.StatusVectorChunk:
			for _, sym := range c.SymbolList {
				if left == 0 {
					break
				}
				add(sym)
				left--
			}
		}
	}
	return syms, deltas
}

func twccSeed() []byte {
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: 65530, PacketStatusCount: 25, ReferenceTime: 0xfffffe,
		PacketChunks: []rtcp.PacketStatusChunk{
			&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 3},
			&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: []uint16{0, 2, 0, 1, 0, 0, 0}},
			&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit, SymbolList: []uint16{1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
			&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 1},
		},
		RecvDeltas: []*rtcp.RecvDelta{{Type: 1, Delta: 1000}, {Type: 1, Delta: 250}, {Type: 1, Delta: 0},
			{Type: 2, Delta: -8000}, {Type: 1, Delta: 63750}, {Type: 1, Delta: 500}, {Type: 1, Delta: 750}, {Type: 1, Delta: 1000}, {Type: 1, Delta: 1250}},
	}
	fb.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback, Length: uint16(fb.MarshalSize()/4 - 1)}
	raw, err := fb.Marshal()
	if err != nil {
		panic(err)
	}
	return raw
}

// FuzzTWCCReport: the in-place reader accepts exactly the reports pion's
// parser accepts and reads the same statuses and deltas from them.
func FuzzTWCCReport(f *testing.F) {
	f.Add(twccSeed())
	f.Add([]byte{0x8f, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x8f, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 9, 0, 2, 0, 0, 1, 0, 0x20, 0x02, 4, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		var fb rtcp.TransportLayerCC
		perr := fb.Unmarshal(b)
		rep, err := parseTWCCReport(b)
		if (perr == nil) != (err == nil) {
			t.Fatalf("pion: %v, ours: %v", perr, err)
		}
		if err != nil {
			return
		}
		if rep.base != fb.BaseSequenceNumber || rep.count != int(fb.PacketStatusCount) || rep.ref != fb.ReferenceTime&0xffffff {
			t.Fatalf("fixed fields %+v, pion %+v", rep, fb)
		}
		syms, deltas := pionStatuses(&fb)
		i := 0
		rep.each(func(sym uint16, delta int64) {
			if i >= len(syms) || syms[i] != sym || deltas[i] != delta {
				t.Fatalf("status %d: %d %d, pion %v %v", i, sym, delta, syms, deltas)
			}
			i++
		})
		if i != len(syms) {
			t.Fatalf("%d statuses, pion %d", i, len(syms))
		}
	})
}

// TestTWCCReportAllocs: reading a report allocates nothing.
func TestTWCCReportAllocs(t *testing.T) {
	raw := twccSeed()
	est := newEstimator(1_000_000, 100_000, 10_000_000)
	est.onFeedback(&twccReport{}) // the first report sets the reference
	n := testing.AllocsPerRun(100, func() {
		eachRTCP(raw, func(h rtcp.Header, pkt []byte) {
			if rep, err := parseTWCCReport(pkt); err == nil && isTWCC(h) {
				est.onFeedback(&rep)
			}
		})
	})
	if n != 0 {
		t.Fatalf("%v allocations per report", n)
	}
}
