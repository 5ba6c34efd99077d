package qoe

import (
	"errors"
	"fmt"
	"math"
)

// ClientReport is the body of a client's `quality` message (see
// signaling/PROTOCOL.md). Counters are cumulative since the track began,
// so a lost report loses resolution, not totals. Clients are untrusted:
// Check must pass before anything in it is used.
type ClientReport struct {
	// Seq counts the client's reports from 1.
	Seq  int          `json:"seq"`
	Join *JoinTimings `json:"join,omitempty"`
	Recv []RecvTrack  `json:"recv"`
	Send []SendTrack  `json:"send"`
	RTT  *float64     `json:"rtt_ms,omitempty"` // subscriber connection, ms
}

// JoinTimings are ms from the start of the join (the token request, or
// the websocket when there was none) to each phase; 0 = not reached.
type JoinTimings struct {
	TokenMs      float64 `json:"token_ms"`
	WSMs         float64 `json:"ws_ms"`
	ICEMs        float64 `json:"ice_ms"`
	DTLSMs       float64 `json:"dtls_ms"`
	FirstFrameMs float64 `json:"first_frame_ms"`
}

// RecvTrack is one received track's cumulative counters and its progress
// series since the last report.
type RecvTrack struct {
	Participant     string  `json:"participant"`
	Track           string  `json:"track"`
	Kind            string  `json:"kind"`
	FramesDecoded   float64 `json:"frames_decoded"`
	FreezeCount     float64 `json:"freeze_count"`
	FreezeMs        float64 `json:"freeze_ms"`
	JitterBufferMs  float64 `json:"jitter_buffer_ms"`
	PacketsLost     float64 `json:"packets_lost"`
	PacketsReceived float64 `json:"packets_received"`
	ConcealedMs     float64 `json:"concealed_ms"`
	Layer           string  `json:"layer"`
	Width           float64 `json:"width"`
	Height          float64 `json:"height"`
	// E2EMs is the end-to-end latency measured from the publisher's own
	// timestamps, when the client has them (qrtn loadtest); 0 otherwise.
	E2EMs  float64 `json:"e2e_ms"`
	Series Series  `json:"series"`
}

// Series is a track's progress sampled by the client since its last
// report: AgeMs[i] is how long before the report sample i was taken
// (oldest first). For video V is frames decoded; for audio V is the
// audio played and C the audio concealed, both in ms, all cumulative. A
// negative V marks a sample taken while the track was not expected to
// play (muted, paused by the node, hidden): it breaks the series.
type Series struct {
	AgeMs []float64 `json:"age_ms"`
	V     []float64 `json:"v"`
	C     []float64 `json:"c,omitempty"`
}

// SendTrack is one published track.
type SendTrack struct {
	Track        string  `json:"track"`
	Kind         string  `json:"kind"`
	Limitation   string  `json:"limitation"`
	FPS          float64 `json:"fps"`
	BytesSent    float64 `json:"bytes_sent"`
	FractionLost float64 `json:"fraction_lost"`
	RTTMs        float64 `json:"rtt_ms"`
}

// Limits of a report: a client that exceeds them is refused, not trimmed.
const (
	MaxReportBytes   = 32 << 10
	MaxRecvTracks    = 64
	MaxSendTracks    = 8
	MaxSeriesSamples = 80
	MaxSeriesAgeMs   = 30_000
	maxID            = 128
	maxCount         = 1e12
)

// ErrBadReport wraps every reason Check refuses a report.
var ErrBadReport = errors.New("bad quality report")

// Check refuses a report that is malformed or out of bounds: too many
// tracks or samples, strings too long, numbers negative, not finite or
// absurd, series not in order.
func (r *ClientReport) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadReport, fmt.Sprintf(format, args...))
	}
	if r.Seq < 1 {
		return bad("seq must count from 1")
	}
	if len(r.Recv) > MaxRecvTracks || len(r.Send) > MaxSendTracks {
		return bad("at most %d received and %d sent tracks", MaxRecvTracks, MaxSendTracks)
	}
	if r.RTT != nil && !sane(*r.RTT, 60_000) {
		return bad("rtt_ms %v", *r.RTT)
	}
	if j := r.Join; j != nil {
		for _, v := range []float64{j.TokenMs, j.WSMs, j.ICEMs, j.DTLSMs, j.FirstFrameMs} {
			if !sane(v, 600_000) {
				return bad("join timing %v ms", v)
			}
		}
	}
	seen := map[string]bool{}
	for i := range r.Recv {
		t := &r.Recv[i]
		if err := t.check(); err != nil {
			return bad("recv[%d]: %v", i, err)
		}
		k := t.Participant + "/" + t.Track
		if seen[k] {
			return bad("recv[%d]: track %s twice", i, k)
		}
		seen[k] = true
	}
	for i, t := range r.Send {
		if !id(t.Track) || (t.Kind != "audio" && t.Kind != "video") {
			return bad("send[%d]: track and kind audio|video required", i)
		}
		switch t.Limitation {
		case "", "none", "cpu", "bandwidth", "other":
		default:
			return bad("send[%d]: limitation %.20q", i, t.Limitation)
		}
		if !sane(t.FPS, 1000) || !sane(t.BytesSent, maxCount) || !sane(t.FractionLost, 1) || !sane(t.RTTMs, 60_000) {
			return bad("send[%d]: a figure out of range", i)
		}
	}
	return nil
}

func (t *RecvTrack) check() error {
	if !id(t.Participant) || !id(t.Track) || (t.Kind != "audio" && t.Kind != "video") {
		return errors.New("participant, track and kind audio|video required")
	}
	if len(t.Layer) > 16 {
		return errors.New("layer too long")
	}
	for _, v := range []float64{t.FramesDecoded, t.FreezeCount, t.FreezeMs, t.PacketsLost, t.PacketsReceived, t.ConcealedMs} {
		if !sane(v, maxCount) {
			return fmt.Errorf("counter %v out of range", v)
		}
	}
	if !sane(t.JitterBufferMs, 60_000) || !sane(t.Width, 16384) || !sane(t.Height, 16384) || !sane(t.E2EMs, 600_000) {
		return errors.New("a figure out of range")
	}
	return t.Series.check(t.Kind)
}

func (s *Series) check(kind string) error {
	n := len(s.AgeMs)
	if n > MaxSeriesSamples || len(s.V) != n || (kind == "audio" && len(s.C) != n) || (kind == "video" && len(s.C) != 0) {
		return fmt.Errorf("series: at most %d samples, v (and c for audio) as long as age_ms", MaxSeriesSamples)
	}
	for i := range n {
		if !sane(s.AgeMs[i], MaxSeriesAgeMs) || (i > 0 && s.AgeMs[i] > s.AgeMs[i-1]) {
			return errors.New("series: age_ms must fall, within 30 s")
		}
		if math.IsNaN(s.V[i]) || math.IsInf(s.V[i], 0) || s.V[i] > maxCount {
			return errors.New("series: v out of range")
		}
		if kind == "audio" && (!sane(s.C[i], maxCount) || (s.V[i] >= 0 && s.C[i] > s.V[i])) {
			return errors.New("series: c out of range or above v")
		}
	}
	return nil
}

// sane: finite, not negative, at most hi.
func sane(v, hi float64) bool { return !math.IsNaN(v) && v >= 0 && v <= hi }

// id: a non-empty identifier of reasonable length.
func id(s string) bool { return s != "" && len(s) <= maxID }
