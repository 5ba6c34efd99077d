package sfu

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// TestFECCounter counts repair packets of streams with FlexFEC only.
func TestFECCounter(t *testing.T) {
	var st counters
	i, _ := fecCounterFactory{&st}.NewInterceptor("pc")
	sink := interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil })
	w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 1, SSRCForwardErrorCorrection: 9}, sink)
	_, _ = w.Write(&rtp.Header{SSRC: 1}, make([]byte, 100), nil)
	_, _ = w.Write(&rtp.Header{SSRC: 9}, make([]byte, 100), nil)
	if st.fecPackets.Load() != 1 || st.fecBytes.Load() != 112 {
		t.Fatalf("fec packets %d bytes %d, want 1 and 112", st.fecPackets.Load(), st.fecBytes.Load())
	}
}
