package sfu

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// countingBinder is an interceptor that counts the packets its bound
// writers see.
type countingBinder struct {
	interceptor.NoOp
	seen int
}

func (c *countingBinder) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, a interceptor.Attributes) (int, error) {
		c.seen++
		return w.Write(h, p, a)
	})
}

type binderFactory struct{ i interceptor.Interceptor }

func (f binderFactory) NewInterceptor(string) (interceptor.Interceptor, error) { return f.i, nil }

// TestTWCCOnlyBinding: congestion control is bound to streams that
// negotiated transport-cc and bypassed by the others.
func TestTWCCOnlyBinding(t *testing.T) {
	inner := &countingBinder{}
	i, err := twccOnlyFactory{binderFactory{inner}}.NewInterceptor("pc")
	if err != nil {
		t.Fatal(err)
	}
	sink := interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil })
	plain := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 1}, sink)
	twcc := i.BindLocalStream(&interceptor.StreamInfo{SSRC: 2,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}}, sink)
	_, _ = plain.Write(&rtp.Header{SSRC: 1}, nil, nil)
	if inner.seen != 0 {
		t.Fatal("a stream without transport-cc went through congestion control")
	}
	_, _ = twcc.Write(&rtp.Header{SSRC: 2}, nil, nil)
	if inner.seen != 1 {
		t.Fatal("a transport-cc stream bypassed congestion control")
	}
}

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
